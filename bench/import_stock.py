"""Import 10,000 stock levels through the real route (``POST /api/v1/inventory/stock/import``).

For each database (PostgreSQL, then SQLite) a fresh database migrated to head; the app
(in-process, ``create_app``) signs up a client, imports its catalogue of ``--products``
products (``POST /products/import``), and ``--warehouses`` warehouses are inserted (their route
belongs to another module). Then a file of ``--warehouses`` x ``--products`` rows (10 x 1,000 =
10,000 by default) is timed three ways: a dry run, a first real run (every row an opening
balance: a new stock row and one movement each) and a second real run (every quantity changed,
half up and half down: one UPDATE and one movement per row). ``ledger.verify`` must be clean
afterwards. Each figure is the median of ``--runs`` runs (each run on a new client).

Usage::

    .venv/bin/python bench/import_stock.py [--products 1000] [--warehouses 10] [--runs 1]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import import_assets
from fastapi.testclient import TestClient
from sqlalchemy import insert

from kerops.config import Settings
from kerops.core.enums import WarehouseKind
from kerops.core.migrate import upgrade
from kerops.core.types import utcnow, uuid7
from kerops.inventory import ledger
from kerops.inventory.models import Warehouse
from kerops.main import create_app

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "Bench-Import-2026"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def products_file(products: int) -> bytes:
    """A catalogue of spare parts, a fifth of them sold by the metre."""
    rows = [["SKU", "Nombre", "Categoría", "Unidad", "Costo"]]
    rows += [
        [f"P-{n:05d}", f"Repuesto {n}", "repuesto", "m" if n % 5 == 0 else "unidad", "1.000"]
        for n in range(products)
    ]
    return _csv(rows)


def stock_file(products: int, warehouses: int, second: bool) -> bytes:
    """Every product in every warehouse; the second file moves each quantity up or down."""
    rows = [["Bodega", "SKU", "Existencia", "Costo unitario", "Punto de reorden", "Ubicación"]]
    for w in range(warehouses):
        for n in range(products):
            quantity = 10 + (n + w) % 40
            if second:
                quantity += 3 if n % 2 else -5
            metre = ",5" if n % 5 == 0 else ""
            rows.append([f"W{w:02d}", f"P-{n:05d}", f"{quantity}{metre}", "1.200", "4", "A-1"])
    return _csv(rows)


def settings_for(url: str, data_dir: Path) -> Settings:
    """The import benchmark's settings, with room for larger files."""
    return import_assets.settings_for(url, data_dir).model_copy(update={"import_max_rows": 100_000})


def _post(client: TestClient, path: str, data: bytes, headers: dict[str, str], dry: bool) -> float:
    started = time.perf_counter()
    response = client.post(
        path,
        files={"file": ("datos.csv", data, "text/csv")},
        data={"dry_run": "true" if dry else "false"},
        headers=headers,
    )
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    assert not response.json()["errors"], response.text[:500]
    return seconds


def one_run(settings: Settings, products: int, warehouses: int) -> dict[str, float]:
    """Sign up, import the catalogue, add the warehouses, then time the stock imports."""
    app = create_app(settings)
    with TestClient(app) as client:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "full_name": "Bench Owner"},
        ).raise_for_status()
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "es-CL"}
        me = client.get("/api/v1/auth/me", headers=headers).json()
        client_id = uuid.UUID(me["client_id"])
        catalogue = _post(
            client, "/api/v1/products/import", products_file(products), headers, False
        )
        state = app.state.kerops

        async def add_warehouses() -> None:
            now = utcnow()
            async with state.db.sessions() as session, session.begin():
                await session.execute(
                    insert(Warehouse),
                    [
                        {
                            "id": uuid7(),
                            "client_id": client_id,
                            "kind": WarehouseKind.central,
                            "code": f"W{w:02d}",
                            "name": f"Bodega {w}",
                            "is_active": True,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for w in range(warehouses)
                    ],
                )

        client.portal.call(add_warehouses)  # type: ignore[union-attr]
        first = stock_file(products, warehouses, second=False)
        path = "/api/v1/inventory/stock/import"
        dry = _post(client, path, first, headers, True)
        opening = _post(client, path, first, headers, False)
        changed = _post(client, path, stock_file(products, warehouses, second=True), headers, False)

        async def verify() -> int:
            async with state.db.sessions() as session:
                return len(await ledger.verify(session, client_id=client_id))

        differences = client.portal.call(verify)  # type: ignore[union-attr]
        assert differences == 0, differences
    return {"catalogue": catalogue, "dry": dry, "opening": opening, "changed": changed}


def measure(label: str, url: str, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Median figures of ``--runs`` runs on one database."""
    settings = settings_for(url, data_dir)
    upgrade(settings)
    runs = [one_run(settings, args.products, args.warehouses) for _ in range(args.runs)]
    result = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    rows = args.products * args.warehouses
    print(
        f"{label}: {rows} rows — dry run {result['dry']:.2f} s, opening balances "
        f"{result['opening']:.2f} s ({rows / result['opening']:,.0f} rows/s), changes "
        f"{result['changed']:.2f} s ({rows / result['changed']:,.0f} rows/s); catalogue of "
        f"{args.products} products {result['catalogue']:.2f} s; load {os.getloadavg()[0]:.2f}"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--warehouses", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_postgres:
            name = f"bench_stock_{uuid.uuid4().hex[:8]}"
            asyncio.run(import_assets._admin(args.admin_url, f'CREATE DATABASE "{name}"'))
            try:
                url = import_assets._with_database(args.admin_url, name)
                measure("PostgreSQL", url, Path(tmp) / "pg", args)
            finally:
                asyncio.run(
                    import_assets._admin(args.admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')
                )
        measure("SQLite", f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "lite", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
