"""Readings ingestion throughput: ``POST /api/v1/iot/readings`` against the raw driver's best.

On PostgreSQL (a database of its own, created and dropped here):

- **app**: ``uvicorn kerops.main:create_app --factory --workers 2``, a concurrent loader posting
  batches of 5,000 readings (each of one device, distinct message ids) for ``--seconds``;
- **raw**: asyncpg's binary ``COPY`` of the same rows into the same table (same indexes and
  constraints), from as many connections as the loader uses.

Then the SQLite default (one ``uvicorn`` process, as ``kerops serve`` runs) with the same loader.
Prints readings/s side by side and the app/raw ratio.

    .venv/bin/python bench/ingest/bench_ingest.py --pg postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx2

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from kerops.assets.models import Asset  # noqa: E402
from kerops.config import Settings  # noqa: E402
from kerops.core.db import Database  # noqa: E402
from kerops.core.enums import SubscriptionPlan, UserRole  # noqa: E402
from kerops.core.migrate import upgrade  # noqa: E402
from kerops.core.security import hash_token  # noqa: E402
from kerops.core.types import uuid7  # noqa: E402
from kerops.iot.models import IoTDevice  # noqa: E402
from kerops.tenancy.models import Locale  # noqa: E402
from kerops.users.models import User  # noqa: E402

BATCH = 5000
SECRET = "bench-secret-key-0123456789-0123456789-abcdef"


@dataclass
class Seeded:
    """The devices of the benchmark client: (id, key) pairs."""

    devices: list[tuple[uuid.UUID, str]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(data_dir: Path, url: str | None) -> Settings:
    return Settings(
        environment="production", data_dir=data_dir, database_url=url, secret_key=SECRET
    )


async def _seed(settings: Settings, devices: int) -> Seeded:
    db = Database(settings, null_pool=True)
    owner = uuid7()
    locale = uuid7()
    asset = uuid7()
    made: list[tuple[uuid.UUID, str]] = []
    async with db.sessions() as session:
        await session.execute(
            insert(User).values(
                id=owner,
                email=f"bench-{owner.hex[:8]}@example.cl",
                full_name="Bench",
                role=UserRole.client_owner,
                client_id=owner,
                plan=SubscriptionPlan.enterprise,
                password_hash="x",
                is_active=True,
            )
        )
        await session.execute(insert(Locale).values(id=locale, client_id=owner, name="Planta"))
        await session.execute(
            insert(Asset).values(
                id=asset,
                client_id=owner,
                locale_id=locale,
                name="Chiller",
                qr_code=secrets.token_urlsafe(24),
            )
        )
        for n in range(devices):
            prefix = "kdv_" + secrets.token_hex(4)
            key = f"{prefix}_{secrets.token_urlsafe(32)}"
            device_id = uuid7()
            await session.execute(
                insert(IoTDevice).values(
                    id=device_id,
                    client_id=owner,
                    locale_id=locale,
                    asset_id=asset,
                    name=f"Sensor {n}",
                    device_type="temperature",
                    unit="C",
                    serial_number=f"BENCH-{n}",
                    credential_prefix=prefix,
                    credential_hash=hash_token(key),
                )
            )
            made.append((device_id, key))
        await session.commit()
    await db.dispose()
    return Seeded(devices=made)


def _bodies(seeded: Seeded, count: int, tag: str) -> list[tuple[str, bytes]]:
    """``count`` batches of 5,000 readings, round-robin over the devices, unique message ids."""
    start = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for b in range(count):
        _, key = seeded.devices[b % len(seeded.devices)]
        readings = [
            {
                "metric": "temperature",
                "value": 20 + (i % 100) / 10,
                "ts": (start + timedelta(milliseconds=i * 7 + b)).isoformat(),
                "message_id": f"{tag}-{b}-{i}",
            }
            for i in range(BATCH)
        ]
        out.append((key, json.dumps({"readings": readings}).encode()))
    return out


def _serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/uvicorn"),
            "kerops.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")},
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc, port
        except httpx2.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


async def _load(
    port: int, bodies: list[tuple[str, bytes]], seconds: float, concurrency: int
) -> tuple[float, int]:
    """Post batches from ``concurrency`` connections for ``seconds``; (readings/s, requests)."""
    accepted = 0
    requests = 0
    queue = iter(bodies)
    stop_at = time.perf_counter() + seconds
    limits = httpx2.Limits(max_connections=concurrency)
    async with httpx2.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
    ) as http:

        async def worker() -> None:
            nonlocal accepted, requests
            while time.perf_counter() < stop_at:
                try:
                    key, body = next(queue)
                except StopIteration:
                    return
                response = await http.post(
                    "/api/v1/iot/readings",
                    content=body,
                    headers={"X-Device-Key": key, "Content-Type": "application/json"},
                )
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text[:300]}")
                accepted += response.json()["accepted"]
                requests += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return accepted / elapsed, requests


async def _copy(dsn: str, seeded: Seeded, seconds: float, concurrency: int) -> float:
    """asyncpg binary COPY of the same rows (5,000 per COPY) for ``seconds``; rows/s."""
    start = datetime.now(UTC) - timedelta(hours=1)
    now = datetime.now(UTC)
    columns = ["device_id", "metric", "value", "device_time", "received_at", "message_id"]
    copied = 0
    stop_at = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal copied
        conn = await asyncpg.connect(dsn)
        try:
            b = 0
            while time.perf_counter() < stop_at:
                device_id, _ = seeded.devices[(w + b) % len(seeded.devices)]
                records = [
                    (
                        device_id,
                        "temperature",
                        20 + (i % 100) / 10,
                        start + timedelta(milliseconds=i * 7 + b),
                        now,
                        f"copy-{w}-{b}-{i}",
                    )
                    for i in range(BATCH)
                ]
                await conn.copy_records_to_table("iot_readings", records=records, columns=columns)
                copied += BATCH
                b += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return copied / (time.perf_counter() - started)


def _pg_url(admin: str, name: str) -> str:
    parts = urlsplit(admin)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(admin: str, sql: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_pg(admin: str, seconds: float, concurrency: int, devices: int) -> dict[str, float]:
    name = f"kerops_bench_ingest_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        url = _pg_url(admin, name)
        settings = _settings(data_dir, url)
        upgrade(settings)
        seeded = asyncio.run(_seed(settings, devices))
        env = {
            "KEROPS_DATABASE_URL": url,
            "KEROPS_ENVIRONMENT": "production",
            "KEROPS_SECRET_KEY": SECRET,
            "KEROPS_LOG_LEVEL": "WARNING",
            "KEROPS_DATA_DIR": str(data_dir),
            "KEROPS_EMBEDDED_SCHEDULER": "false",
        }
        needed = int(seconds * 40) + 20
        bodies = _bodies(seeded, needed, "app")
        proc, port = _serve(env, workers=2)
        try:
            asyncio.run(_load(port, bodies[:4], 30, concurrency))  # warm-up
            app_rate, requests = asyncio.run(_load(port, bodies[4:], seconds, concurrency))
        finally:
            _stop(proc)
        raw_rate = asyncio.run(_copy(url, seeded, seconds, concurrency))
        return {"app": app_rate, "raw": raw_rate, "requests": requests}
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(data_dir, ignore_errors=True)


def run_sqlite(seconds: float, concurrency: int, devices: int) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-sqlite-"))
    try:
        settings = _settings(data_dir, None)
        upgrade(settings)
        seeded = asyncio.run(_seed(settings, devices))
        env = {
            "KEROPS_ENVIRONMENT": "production",
            "KEROPS_SECRET_KEY": SECRET,
            "KEROPS_LOG_LEVEL": "WARNING",
            "KEROPS_DATA_DIR": str(data_dir),
            "KEROPS_EMBEDDED_SCHEDULER": "false",
        }
        bodies = _bodies(seeded, int(seconds * 20) + 20, "lite")
        proc, port = _serve(env, workers=1)
        try:
            asyncio.run(_load(port, bodies[:4], 30, concurrency))
            rate, requests = asyncio.run(_load(port, bodies[4:], seconds, concurrency))
        finally:
            _stop(proc)
        return {"app": rate, "requests": requests}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    pg_runs = [
        run_pg(args.pg, args.seconds, args.concurrency, args.devices) for _ in range(args.runs)
    ]
    print(
        f"PostgreSQL, batches of {BATCH}, {args.concurrency} connections, "
        f"{args.seconds:g} s per run"
    )
    print(f"{'run':>4} {'app readings/s':>16} {'raw COPY rows/s':>16} {'app/raw':>8}")
    ratios = []
    for n, r in enumerate(pg_runs, 1):
        ratios.append(r["app"] / r["raw"])
        print(f"{n:>4} {r['app']:>16,.0f} {r['raw']:>16,.0f} {ratios[-1]:>8.2f}")
    median = sorted(range(len(pg_runs)), key=lambda i: pg_runs[i]["app"])[len(pg_runs) // 2]
    print(
        f"median app {pg_runs[median]['app']:,.0f} readings/s, "
        f"median ratio {sorted(ratios)[len(ratios) // 2]:.2f}"
    )
    if not args.skip_sqlite:
        lite = [run_sqlite(args.seconds, args.concurrency, args.devices) for _ in range(args.runs)]
        rates = sorted(r["app"] for r in lite)
        print(
            f"SQLite (one process): {', '.join(f'{r:,.0f}' for r in rates)} readings/s; "
            f"median {rates[len(rates) // 2]:,.0f}"
        )


if __name__ == "__main__":
    main()
