"""Import 10,000 assets through the real route, against a raw-driver bulk insert of the same rows.

For each database (PostgreSQL, then SQLite) the script makes two fresh databases migrated to
head. In the first, the app (in-process, ``create_app``) signs up a client, adds a locale with a
code and imports a 10,000-row CSV in one ``POST /api/v1/imports/assets`` (``dry_run=false``):
every row read, checked and written with its status change and audit rows, in one transaction.
A dry run of the same file is timed too. In the second, the client's, owner's and locale's rows
are copied over and the same 10,000 asset rows (the values the import stored, read back) are
inserted with the raw driver in one transaction: asyncpg ``executemany`` and
``copy_records_to_table`` (PostgreSQL), ``sqlite3`` ``executemany`` (SQLite). Each figure is the
median of ``--runs`` runs; the ratio is raw time / app time (1.0: as fast as the raw insert).

Usage::

    .venv/bin/python bench/import_assets.py [--rows 10000] [--runs 3]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from fastapi.testclient import TestClient

from kerops.config import Settings
from kerops.core.migrate import upgrade
from kerops.main import create_app

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "Bench-Import-2026"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
LOCALE_CODE = "BENCH-1"
ASSET_COLUMNS = (
    "id",
    "client_id",
    "locale_id",
    "area_id",
    "parent_id",
    "name",
    "code",
    "category",
    "make",
    "model",
    "serial_number",
    "status",
    "install_date",
    "warranty_end_date",
    "criticality",
    "meter_readings",
    "last_maintenance_at",
    "next_maintenance_at",
    "qr_code",
    "notes",
    "created_at",
    "updated_at",
)


def build_file(rows: int) -> bytes:
    """A CSV (``;``, Spanish headers) of ``rows`` assets, a tenth of them parts of another."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "Local",
            "Código",
            "Nombre",
            "Activo padre",
            "Categoría",
            "Marca",
            "Modelo",
            "Número de serie",
            "Fecha de instalación",
            "Criticidad",
            "Medidor: horas",
        ]
    )
    for i in range(rows):
        parent = f"EQ-{i - 1:05d}" if i % 10 == 9 else ""
        writer.writerow(
            [
                LOCALE_CODE,
                f"EQ-{i:05d}",
                f"Equipo {i}",
                parent,
                "climatización",
                "Carrier",
                f"M-{i % 37}",
                f"SN-{i:06d}",
                f"{1 + i % 28:02d}-{1 + i % 12:02d}-2024",
                str(1 + i % 5),
                f"{i % 5000},5",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def settings_for(url: str, data_dir: Path) -> Settings:
    """Settings of the app under test (production-like logging, inline jobs)."""
    return Settings(
        environment="test",
        data_dir=data_dir,
        database_url=url,
        secret_key=SECRET_KEY,
        log_level="WARNING",
        log_json=True,
        public_base_url="http://bench",
        jobs_inline=True,
        embedded_scheduler=False,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


UNLIMITED = "UPDATE plan_limits SET max_assets = NULL"


def app_import(settings: Settings, data: bytes, unlimit: Callable[[], None]) -> dict[str, Any]:
    """Sign up, add the locale, lift the plans' asset limit, then time a dry run and a real
    import of the file."""
    app = create_app(settings)
    with TestClient(app) as client:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "full_name": "Bench Owner"},
        ).raise_for_status()
        token = client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "es-CL"}
        client.post(
            "/api/v1/locales", json={"name": "Planta", "code": LOCALE_CODE}, headers=headers
        ).raise_for_status()
        unlimit()
        files = {"file": ("activos.csv", data, "text/csv")}
        started = time.perf_counter()
        dry = client.post(
            "/api/v1/imports/assets", files=files, data={"dry_run": "true"}, headers=headers
        )
        dry_seconds = time.perf_counter() - started
        assert dry.status_code == 200 and not dry.json()["errors"], dry.text[:500]
        started = time.perf_counter()
        real = client.post(
            "/api/v1/imports/assets", files=files, data={"dry_run": "false"}, headers=headers
        )
        seconds = time.perf_counter() - started
        assert real.status_code == 200, real.text[:500]
        assert real.json()["created"] == data.count(b"\r\n") - 1
    return {"seconds": seconds, "dry_seconds": dry_seconds}


# --- PostgreSQL ----------------------------------------------------------------------------------


async def _pg_copy_prerequisites(source: str, target: str) -> list[tuple[Any, ...]]:
    """Copy the client, its users and locale to ``target``; return the imported asset rows."""
    src = await asyncpg.connect(source)
    dst = await asyncpg.connect(target)
    try:
        await dst.execute("SET session_replication_role = replica")
        for table in ("clients", "users", "locales"):
            rows = await src.fetch(f"SELECT * FROM {table}")
            if rows:
                await dst.copy_records_to_table(
                    table, records=[tuple(r.values()) for r in rows], columns=list(rows[0].keys())
                )
        assets = await src.fetch(
            f"SELECT {', '.join(ASSET_COLUMNS)} FROM assets ORDER BY parent_id NULLS FIRST, id"
        )
        return [tuple(r.values()) for r in assets]
    finally:
        await src.close()
        await dst.close()


async def _pg_raw(target: str, rows: list[tuple[Any, ...]], how: str) -> float:
    conn = await asyncpg.connect(target)
    try:
        await conn.execute("DELETE FROM assets")
        started = time.perf_counter()
        async with conn.transaction():
            if how == "copy":
                await conn.copy_records_to_table("assets", records=rows, columns=ASSET_COLUMNS)
            else:
                marks = ", ".join(f"${i + 1}" for i in range(len(ASSET_COLUMNS)))
                await conn.executemany(
                    f"INSERT INTO assets ({', '.join(ASSET_COLUMNS)}) VALUES ({marks})",
                    rows,
                )
        return time.perf_counter() - started
    finally:
        await conn.close()


def run_postgres(admin_url: str, data: bytes, tmp: Path) -> dict[str, Any]:
    """One PostgreSQL run: the app's import and both raw inserts, each in a fresh database."""
    suffix = uuid.uuid4().hex[:8]
    app_db, raw_db = f"kerops_bench_import_{suffix}", f"kerops_bench_raw_{suffix}"
    for name in (app_db, raw_db):
        asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        app_url, raw_url = _with_database(admin_url, app_db), _with_database(admin_url, raw_db)
        for url in (app_url, raw_url):
            upgrade(settings_for(url, tmp))
        result = app_import(
            settings_for(app_url, tmp), data, lambda: asyncio.run(_admin(app_url, UNLIMITED))
        )
        rows = asyncio.run(_pg_copy_prerequisites(app_url, raw_url))
        result["executemany_seconds"] = asyncio.run(_pg_raw(raw_url, rows, "executemany"))
        result["copy_seconds"] = asyncio.run(_pg_raw(raw_url, rows, "copy"))
        return result
    finally:
        for name in (app_db, raw_db):
            asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- SQLite --------------------------------------------------------------------------------------


def run_sqlite(data: bytes, tmp: Path) -> dict[str, Any]:
    """One SQLite run: the app's import, then ``sqlite3`` ``executemany`` in a fresh file."""
    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    app_file, raw_file = run_dir / "app.sqlite3", run_dir / "raw.sqlite3"
    for path in (app_file, raw_file):
        upgrade(settings_for(f"sqlite:///{path}", run_dir))

    def unlimit() -> None:
        with sqlite3.connect(app_file) as conn:
            conn.execute(UNLIMITED)

    result = app_import(settings_for(f"sqlite:///{app_file}", run_dir), data, unlimit)
    src = sqlite3.connect(app_file)
    dst = sqlite3.connect(raw_file, isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    for table in ("clients", "users", "locales"):
        cursor = src.execute(f"SELECT * FROM {table}")
        names = [c[0] for c in cursor.description]
        marks = ", ".join("?" for _ in names)
        dst.executemany(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
            cursor.fetchall(),
        )
    rows = src.execute(
        f"SELECT {', '.join(ASSET_COLUMNS)} FROM assets ORDER BY parent_id IS NOT NULL, id"
    ).fetchall()
    dst.execute("PRAGMA foreign_keys=ON")
    marks = ", ".join("?" for _ in ASSET_COLUMNS)
    started = time.perf_counter()
    dst.execute("BEGIN IMMEDIATE")
    dst.executemany(
        f"INSERT INTO assets ({', '.join(ASSET_COLUMNS)}) VALUES ({marks})",
        rows,
    )
    dst.execute("COMMIT")
    result["executemany_seconds"] = time.perf_counter() - started
    src.close()
    dst.close()
    return result


def _report(name: str, rows: int, runs: list[dict[str, Any]]) -> None:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    app = median("seconds")
    print(f"\n{name}: {rows} assets, {len(runs)} runs (medians)")
    print(f"  app import (POST, real run): {app:7.3f} s  {rows / app:9.0f} rows/s")
    print(f"  app dry run (checks only):   {median('dry_seconds'):7.3f} s")
    for key, label in (("executemany_seconds", "executemany"), ("copy_seconds", "COPY")):
        if key in runs[0]:
            raw = median(key)
            ratio = statistics.median(r[key] / r["seconds"] for r in runs)
            print(
                f"  raw {label:<24} {raw:7.3f} s  {rows / raw:9.0f} rows/s   "
                f"app/raw rate {ratio:.2f}x"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    data = build_file(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if not args.skip_postgres:
            runs = [run_postgres(args.admin_url, data, tmp) for _ in range(args.runs)]
            _report("PostgreSQL", args.rows, runs)
        if not args.skip_sqlite:
            runs = [run_sqlite(data, tmp) for _ in range(args.runs)]
            _report("SQLite", args.rows, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
