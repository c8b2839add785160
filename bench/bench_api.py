"""Benchmark of the foundation's hot paths on PostgreSQL, each beside a raw-driver reference.

The app (``kerops.main:create_app`` under uvicorn, two workers) and the raw reference
(``bench/raw_app.py``: the same SQL on asyncpg, JSON built by hand, under the same uvicorn set-up)
run side by side on the seeded database and are measured in the same run, alternately, so the
app/raw ratios hold on a noisy machine. See ``bench/README.md``.

Usage::

    .venv/bin/python bench/bench_api.py [--reseed] [--runs 3] [--duration 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import cpu_steadiness
import httpx
import loadgen
import raw_app
import seed
import uvloop
from pgtrace import TraceProxy

from kerops.config import Settings
from kerops.main import create_app

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
PAGE_SIZE = 20
DEEP_PAGES = 50
#: The deep page may be this much slower than page 1 and still count as "no slower" (noise).
KEYSET_TOLERANCE = 0.15
#: Executions of each list statement when timing them on the database alone.
SQL_TIMING_ROUNDS = 300
SERVERS = ("app", "raw")


@dataclass(frozen=True)
class Endpoint:
    """One benchmarked request; endpoints of one ``rate_group`` share the offered rate."""

    key: str
    label: str
    path: str
    rate_group: str


@dataclass
class Config:
    """The command line."""

    admin_url: str
    database: str
    reseed: bool
    runs: int
    duration: float
    max_duration: float
    warmup: float
    connections: int
    max_connections: int
    load_fraction: float
    workers: int
    app_log_level: str
    out: Path


@dataclass
class Window:
    """The figures of one server on one endpoint in one run."""

    max_rps: float
    #: Server CPU (all workers) per answered request during the closed-loop window.
    cpu_ms_per_request: float
    offered_rps: float
    achieved_rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    timed_out: int
    #: Share of one core the load generator used in the closed-loop window.
    generator_cpu: float
    #: Share of the machine's cores busy (anything running) in the open-model window.
    machine_cpu: float


@dataclass
class EndpointReport:
    """Everything measured for one endpoint."""

    endpoint: Endpoint
    offered_rps: float = 0.0
    runs: list[dict[str, Window]] = field(default_factory=list)


def parse_args(argv: list[str] | None) -> Config:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=seed.DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default=seed.DEFAULT_DATABASE)
    parser.add_argument("--reseed", action="store_true", help="seed again even if seeded")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--duration", type=float, default=5.0, help="open-model window per server (s)"
    )
    parser.add_argument(
        "--max-duration", type=float, default=2.0, help="closed-loop window per server (s)"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up per server (s)")
    parser.add_argument("--connections", type=int, default=32, help="open-model connections")
    parser.add_argument("--max-connections", type=int, default=16, help="closed-loop connections")
    parser.add_argument(
        "--load-fraction",
        type=float,
        default=0.5,
        help="open-model arrival rate, as a share of the app's calibrated maximum",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    parser.add_argument("--app-log-level", default="INFO", help="KEROPS_LOG_LEVEL of the app")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    return Config(**vars(args))


# --- machine -------------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def steadiness_line(machine: dict[str, Any]) -> str:
    share = machine.get("cpu_slow_windows")
    if share is None:
        return "- CPU steadiness: not probed"
    return (
        f"- CPU steadiness: a plain loop ran below half its median rate in {share:.1%} of 10 ms"
        " windows before the run (`cpu_steadiness.py`; 0 % on a steady machine, p99s grow"
        " with it)"
    )


def describe_machine(pg: dict[str, str]) -> dict[str, Any]:
    """CPU, memory, software versions: what the figures depend on."""
    cpuinfo = _read("/proc/cpuinfo")
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    meminfo = _read("/proc/meminfo")
    kib = next(
        (int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0
    )
    packages = {}
    for name in ("fastapi", "starlette", "pydantic", "sqlalchemy", "asyncpg", "uvicorn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "virtualised": " hypervisor" in cpuinfo,
        "ram_gib": round(kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg.get("server_version", "?"),
        "postgresql_shared_buffers": pg.get("shared_buffers", "?"),
        "packages": packages,
        "commit": f"{commit}{' (with local changes)' if dirty else ''}",
        # How often this machine slows a process down (3 s probe before the run; 0 is steady).
        "cpu_slow_windows": round(cpu_steadiness.slow_share(3.0), 4),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()


async def postgres_facts(url: str) -> dict[str, str]:
    """Server version and memory setting."""
    conn = await asyncpg.connect(url)
    try:
        return {
            "server_version": await conn.fetchval("SHOW server_version"),
            "shared_buffers": await conn.fetchval("SHOW shared_buffers"),
        }
    finally:
        await conn.close()


async def seed_facts(url: str) -> dict[str, Any]:
    """What the seeded database holds."""
    conn = await asyncpg.connect(url)
    try:
        rows = {}
        for table in ("users", "locales", "local_areas", "local_members"):
            rows[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        big = await conn.fetchval(
            "SELECT count(*) FROM locales l JOIN users u ON u.id = l.client_id WHERE u.email = $1",
            seed.owner_email(0),
        )
        seeded_at = await conn.fetchval(f"SELECT seeded_at FROM {seed.MARKER_TABLE}")
    finally:
        await conn.close()
    return {"rows": rows, "big_client_locales": big, "seeded_at": seeded_at.isoformat()}


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def uvicorn_command(target: str, port: int, workers: int) -> list[str]:
    """The same uvicorn set-up for both servers."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--timeout-keep-alive",
        "30",
    ]


@contextlib.contextmanager
def serve(
    name: str, command: list[str], env: dict[str, str], port: int, start_timeout: float = 30
) -> Iterator[tuple[str, int]]:
    """Run one server until the block ends; once it answers, yields its base URL and its
    process group (the uvicorn supervisor and its workers)."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True
        )
        base = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + start_timeout
            while not _answers(base):
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{name} server exited:\n{log.read().decode()[-3000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} server did not start")
                time.sleep(0.1)
            yield base, process.pid
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                # The server's own process group (start_new_session): its workers only.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # After the parenthesised command: state, ppid, pgrp, ..., utime (14th), stime (15th).
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def server_env(config: Config, database_url: str, data_dir: str) -> dict[str, str]:
    """The ``KEROPS_*`` environment shared by the app and the reference."""
    env = dict(os.environ)
    env.update(
        KEROPS_DATABASE_URL=database_url,
        KEROPS_SECRET_KEY=seed.SECRET_KEY,
        KEROPS_DATA_DIR=data_dir,
        KEROPS_ENVIRONMENT="production",
        KEROPS_LOG_LEVEL=config.app_log_level,
        PYTHONPATH=os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH")) if p),
    )
    return env


# --- preflight -----------------------------------------------------------------------------------


@dataclass
class Preflight:
    """Token, deep cursor, and per endpoint what each server sends to PostgreSQL."""

    token: str
    client_id: str
    deep_cursor: str | None
    locales_available: bool
    #: The cursor that asks for page n (n >= 2), for every page up to the deep one.
    cursors: dict[int, str] = field(default_factory=dict)
    traces: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.hostname or HOST
    auth = f"{parts.username}@" if parts.username else ""
    return parts._replace(netloc=f"{auth}{host}:{port}").geturl()


async def preflight(database_url: str, data_dir: str) -> Preflight:
    """Run both servers in-process behind a tracing proxy: sign in, find the deep cursor, and
    record the statements and round trips of one (warm) request per endpoint and server."""
    parts = urlsplit(database_url)
    async with TraceProxy(parts.hostname or HOST, parts.port or 5432) as proxy:
        traced_url = _with_port(database_url, proxy.port)
        settings = Settings(
            database_url=traced_url,
            data_dir=Path(data_dir),
            secret_key=seed.SECRET_KEY,
            log_level="WARNING",
            access_token_minutes=240,
        )
        app = create_app(settings)
        reference = raw_app.Reference(traced_url, seed.SECRET_KEY)
        raw = raw_app.create_app(reference)
        async with (
            app.router.lifespan_context(app),
            raw.router.lifespan_context(raw),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as a,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=raw), base_url="http://raw") as r,
        ):
            login = await a.post(
                "/api/v1/auth/login",
                json={"email": seed.owner_email(0), "password": seed.PASSWORD},
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            me = (await a.get("/api/v1/auth/me", headers=headers)).json()
            first = await a.get(f"/api/v1/locales?limit={PAGE_SIZE}", headers=headers)
            result = Preflight(
                token=token,
                client_id=me["client_id"],
                deep_cursor=None,
                locales_available=first.status_code == 200,
            )
            if result.locales_available:
                cursor = first.json()["next_cursor"]
                for number in range(2, DEEP_PAGES + 1):
                    result.cursors[number] = cursor
                    page = await a.get(
                        f"/api/v1/locales?limit={PAGE_SIZE}&cursor={cursor}", headers=headers
                    )
                    cursor = page.json()["next_cursor"]
                result.cursors[DEEP_PAGES + 1] = cursor
                result.deep_cursor = cursor
            for endpoint in endpoints(result):
                result.traces[endpoint.key] = {}
                for name, client in (("app", a), ("raw", r)):
                    for _ in range(3):  # warm: prepared statements, pool, caches
                        await client.get(endpoint.path, headers=headers)
                    proxy.trace.clear()
                    response = await client.get(endpoint.path, headers=headers)
                    await asyncio.sleep(0.05)  # let the proxy forward the last messages
                    result.traces[endpoint.key][name] = {
                        "status": response.status_code,
                        "round_trips": proxy.trace.round_trips,
                        "statements": [sql for _, sql in proxy.trace.statements],
                    }
    return result


def endpoints(pre: Preflight) -> list[Endpoint]:
    """The benchmarked requests (the locales ones only once the route answers)."""
    found = [Endpoint("me", "GET /auth/me", "/api/v1/auth/me", "me")]
    if pre.locales_available and pre.deep_cursor:
        found.append(
            Endpoint(
                "locales_page1",
                f"GET /locales?limit={PAGE_SIZE} (page 1)",
                f"/api/v1/locales?limit={PAGE_SIZE}",
                "locales",
            )
        )
        found.append(
            Endpoint(
                "locales_deep",
                f"GET /locales?limit={PAGE_SIZE} (page {DEEP_PAGES + 1}, cursor)",
                f"/api/v1/locales?limit={PAGE_SIZE}&cursor={pre.deep_cursor}",
                "locales",
            )
        )
    return found


def sql_check(trace: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Whether every statement of the reference is sent by the app too, word for word."""
    app_statements = list(trace["app"]["statements"])
    missing = []
    for sql in trace["raw"]["statements"]:
        if sql in app_statements:
            app_statements.remove(sql)
        else:
            missing.append(sql)
    return {"same_sql": not missing, "missing_in_app": missing, "app_extra": app_statements}


async def same_documents(bases: dict[str, str], eps: list[Endpoint], token: str) -> dict[str, Any]:
    """Fetch every endpoint from both running servers and compare the JSON documents."""
    checks: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=10) as client:
        for endpoint in eps:
            answers = {
                name: await client.get(bases[name] + endpoint.path, headers=headers)
                for name in SERVERS
            }
            statuses = {name: answer.status_code for name, answer in answers.items()}
            equal = all(s == 200 for s in statuses.values()) and (
                answers["app"].json() == answers["raw"].json()
            )
            items = answers["app"].json().get("items") if statuses["app"] == 200 else None
            checks[endpoint.key] = {
                "statuses": statuses,
                "same_document": equal,
                "bytes": {name: len(answer.content) for name, answer in answers.items()},
                "items": len(items) if isinstance(items, list) else None,
            }
    return checks


async def explain(url: str, client_id: str, deep_cursor: str | None) -> dict[str, list[str]]:
    """``EXPLAIN ANALYZE`` of the reference's list statements for page 1 and the deep page."""
    plans: dict[str, list[str]] = {}
    conn = await asyncpg.connect(url)
    try:
        first = await conn.fetch(
            "EXPLAIN (ANALYZE, BUFFERS) " + raw_app.LOCALES_FIRST_SQL, client_id, PAGE_SIZE + 1
        )
        plans["locales_page1"] = [row[0] for row in first]
        if deep_cursor:
            payload = json.loads(raw_app._b64decode(deep_cursor))
            deep = await conn.fetch(
                "EXPLAIN (ANALYZE, BUFFERS) " + raw_app.LOCALES_AFTER_SQL,
                client_id,
                payload["v"],
                uuid.UUID(payload["i"]),
                PAGE_SIZE + 1,
            )
            plans["locales_deep"] = [row[0] for row in deep]
    finally:
        await conn.close()
    return plans


#: Page 1 with OFFSET: not what the app does; timed only to show what keyset pages save.
LOCALES_OFFSET_SQL = raw_app.LOCALES_FIRST_SQL + " OFFSET $3::INTEGER"


async def sql_timings(url: str, client_id: str, cursors: dict[int, str]) -> dict[str, float]:
    """The list statement alone on the database, median ms over ``SQL_TIMING_ROUNDS`` rounds
    (pages timed in turn each round): page 1 (no keyset predicate), keyset pages 2, halfway and
    deep, and the deep page fetched with OFFSET instead, for comparison."""
    deep = DEEP_PAGES + 1
    keyset_pages = sorted({2, (deep + 1) // 2, deep})
    after_values = {}
    for number in keyset_pages:
        payload = json.loads(raw_app._b64decode(cursors[number]))
        after_values[number] = (payload["v"], uuid.UUID(payload["i"]))
    conn = await asyncpg.connect(url)
    try:
        first = await conn.prepare(raw_app.LOCALES_FIRST_SQL)
        after = await conn.prepare(raw_app.LOCALES_AFTER_SQL)
        offset = await conn.prepare(LOCALES_OFFSET_SQL)
        times: dict[str, list[float]] = {}
        for _ in range(SQL_TIMING_ROUNDS):
            runs: list[tuple[str, Any, tuple[Any, ...]]] = [
                ("page 1", first, (client_id, PAGE_SIZE + 1)),
                *[
                    (f"page {n}", after, (client_id, *after_values[n], PAGE_SIZE + 1))
                    for n in keyset_pages
                ],
                (
                    f"page {deep} by OFFSET",
                    offset,
                    (client_id, PAGE_SIZE + 1, (deep - 1) * PAGE_SIZE),
                ),
            ]
            for label, statement, args in runs:
                started = time.perf_counter()
                await statement.fetch(*args)
                times.setdefault(label, []).append(time.perf_counter() - started)
    finally:
        await conn.close()
    return {label: statistics.median(values) * 1000 for label, values in times.items()}


# --- measurement ---------------------------------------------------------------------------------


def _target(base: str, path: str, token: str) -> loadgen.Target:
    parts = urlsplit(base)
    return loadgen.Target(
        host=parts.hostname or HOST,
        port=parts.port or 80,
        path=path,
        headers=(("Authorization", f"Bearer {token}"),),
    )


async def calibrate(
    config: Config, bases: dict[str, str], eps: list[Endpoint], token: str
) -> dict[str, float]:
    """Warm both servers on every endpoint, then pick each rate group's offered rate: a share
    of the app's closed-loop maximum (the lowest of the group's endpoints)."""
    for endpoint in eps:
        for name in SERVERS:
            target = _target(bases[name], endpoint.path, token)
            await loadgen.closed_loop(
                target, connections=config.max_connections, duration=config.warmup
            )
    capacity: dict[str, float] = {}
    for endpoint in eps:
        target = _target(bases["app"], endpoint.path, token)
        calibration = await loadgen.closed_loop(
            target, connections=config.max_connections, duration=config.max_duration
        )
        group = endpoint.rate_group
        capacity[group] = min(capacity.get(group, math.inf), calibration.achieved_rps)
        print(f"  app maximum on {endpoint.key:<14} {calibration.achieved_rps:8.0f} rps")
    return {group: max(10.0, round(config.load_fraction * rps)) for group, rps in capacity.items()}


async def measure_window(
    config: Config, server: tuple[str, int], endpoint: Endpoint, token: str, rate: float
) -> Window:
    """One server, one endpoint: the open-model window, then the closed-loop maximum."""
    base, group = server
    target = _target(base, endpoint.path, token)
    opened = await loadgen.open_loop(
        target, rate=rate, duration=config.duration, connections=config.connections
    )
    cpu_before = group_cpu_seconds(group)
    closed = await loadgen.closed_loop(
        target, connections=config.max_connections, duration=config.max_duration
    )
    cpu = group_cpu_seconds(group) - cpu_before
    answered = closed.completed + closed.errors
    return Window(
        max_rps=closed.achieved_rps,
        cpu_ms_per_request=cpu * 1000 / answered if answered else math.nan,
        offered_rps=rate,
        achieved_rps=opened.achieved_rps,
        p50_ms=opened.percentile(0.50) * 1000,
        p99_ms=opened.percentile(0.99) * 1000,
        errors=opened.errors + closed.errors,
        timed_out=opened.timed_out,
        generator_cpu=closed.generator_cpu,
        machine_cpu=opened.machine_cpu,
    )


async def measure(
    config: Config,
    servers: dict[str, tuple[str, int]],
    eps: list[Endpoint],
    token: str,
    rates: dict[str, float],
) -> list[EndpointReport]:
    """``runs`` rounds; in each, every endpoint on both servers (order alternating per run)."""
    reports = [EndpointReport(e, offered_rps=rates[e.rate_group]) for e in eps]
    for run in range(config.runs):
        order = SERVERS if run % 2 == 0 else tuple(reversed(SERVERS))
        for report in reports:
            windows: dict[str, Window] = {}
            for name in order:
                windows[name] = await measure_window(
                    config, servers[name], report.endpoint, token, report.offered_rps
                )
            report.runs.append(windows)
            app, raw = windows["app"], windows["raw"]
            print(f"  run {run + 1} {report.endpoint.key:<14} app {_line(app)} | raw {_line(raw)}")
    return reports


def _line(w: Window) -> str:
    return (
        f"{w.max_rps:5.0f} rps max, {w.cpu_ms_per_request:5.2f} CPU ms/req,"
        f" p50 {w.p50_ms:6.2f} p99 {w.p99_ms:7.2f} ms"
    )


METRICS = ("max_rps", "cpu_ms_per_request", "achieved_rps", "p50_ms", "p99_ms")


def summarise(report: EndpointReport) -> dict[str, Any]:
    """Medians over the runs per server, and the median of the per-run app/raw ratios."""
    median = {
        name: {m: statistics.median(getattr(run[name], m) for run in report.runs) for m in METRICS}
        for name in SERVERS
    }
    ratio = {
        m: statistics.median(
            getattr(run["app"], m) / getattr(run["raw"], m)
            for run in report.runs
            if getattr(run["raw"], m)
        )
        for m in METRICS
    }
    totals = {
        name: {
            "errors": sum(run[name].errors for run in report.runs),
            "timed_out": sum(run[name].timed_out for run in report.runs),
            "generator_cpu": statistics.median(run[name].generator_cpu for run in report.runs),
            "machine_cpu": statistics.median(run[name].machine_cpu for run in report.runs),
        }
        for name in SERVERS
    }
    return {"median": median, "ratio": ratio, "totals": totals}


def keyset_verdict(
    reports: dict[str, EndpointReport], database: dict[str, float]
) -> dict[str, Any] | None:
    """Whether the deep page is no slower than page 1.

    Over HTTP, per server: the medians of the per-run deep/page 1 ratios of the server CPU per
    request (the one HTTP measure that stays steady on a busy machine; the maximum rate and p50
    are shown too). On the database: the list statement must not grow with depth (deep page vs
    page 2, the first keyset page; page 1 has no keyset predicate and is shown for reference, as
    is OFFSET). The verdict reads the app and the database; the reference is for comparison."""
    if "locales_deep" not in reports:
        return None
    pairs = list(zip(reports["locales_page1"].runs, reports["locales_deep"].runs, strict=True))
    tolerance = 1 + KEYSET_TOLERANCE
    verdict: dict[str, Any] = {}
    for name in SERVERS:
        ratios = {
            metric: statistics.median(
                getattr(deep[name], metric) / getattr(page1[name], metric) for page1, deep in pairs
            )
            for metric in ("max_rps", "cpu_ms_per_request", "p50_ms")
        }
        verdict[name] = {
            "deep_over_page1": ratios,
            "no_slower": ratios["cpu_ms_per_request"] <= tolerance,
        }
    deep = f"page {DEEP_PAGES + 1}"
    verdict["database"] = {
        "median_ms": database,
        "deep_over_page2": database[deep] / database["page 2"],
        "deep_over_page1": database[deep] / database["page 1"],
        "offset_over_keyset": database[f"{deep} by OFFSET"] / database[deep],
        "no_slower": database[deep] <= tolerance * database["page 2"],
    }
    verdict["no_slower"] = verdict["app"]["no_slower"] and verdict["database"]["no_slower"]
    return verdict


# --- output --------------------------------------------------------------------------------------


def _f(value: float, digits: int = 2) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def results_table(report: dict[str, Any]) -> list[str]:
    """The main table: medians per server and the app/raw ratio per endpoint."""
    lines = [
        "| endpoint | | max rps | CPU ms/req | offered rps | achieved rps | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in report["endpoints"].values():
        summary = item["summary"]
        for name in SERVERS:
            m = summary["median"][name]
            label = item["label"] if name == "app" else ""
            lines.append(
                f"| {label} | {name} | {_f(m['max_rps'], 0)} | {_f(m['cpu_ms_per_request'])} |"
                f" {_f(item['offered_rps'], 0)} | {_f(m['achieved_rps'], 0)} |"
                f" {_f(m['p50_ms'])} | {_f(m['p99_ms'])} |"
            )
        r = summary["ratio"]
        lines.append(
            f"| | **app/raw** | **{_f(r['max_rps'])}** | **{_f(r['cpu_ms_per_request'])}** | |"
            f" {_f(r['achieved_rps'])} | **{_f(r['p50_ms'])}** | **{_f(r['p99_ms'])}** |"
        )
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    """The result file."""
    machine = report["machine"]
    config = report["config"]
    seed_facts_ = report["seed"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    rows = ", ".join(f"{v:,} {k}" for k, v in seed_facts_["rows"].items())
    out = [
        f"# Foundation benchmark, {report['date']}",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, {machine['cores']} cores"
        f"{' (virtual machine)' if machine['virtualised'] else ''}; RAM {machine['ram_gib']} GiB;"
        f" Linux {machine['kernel']}",
        f"- Python {machine['python']}; PostgreSQL {machine['postgresql']}"
        f" (shared_buffers {machine['postgresql_shared_buffers']}), same machine",
        steadiness_line(machine),
        f"- {packages}",
        f"- commit {machine['commit']}",
        "",
        "## Set-up",
        "",
        f"- Data: {rows}; the measured client owns {seed_facts_['big_client_locales']:,} locales.",
        f"- Both servers: uvicorn, {config['workers']} workers, uvloop + httptools, no access log;"
        " every set of the load generator's connections spread evenly over the workers;"
        f" app log level {config['app_log_level']}.",
        f"- Per run, endpoint and server: {config['duration']:g} s open model"
        f" ({config['connections']} connections, constant arrival rate = offered rps),"
        f" then {config['max_duration']:g} s closed loop ({config['max_connections']}"
        f" connections) for the maximum rate. {config['runs']} runs, servers alternating.",
        f"- Offered rate: {config['load_fraction']:g} x the app's maximum measured at warm-up"
        " (one rate for both servers; page 1 and the deep page share theirs).",
        "- Figures are medians of the runs; app/raw is the median of the per-run ratios"
        " (latency: > 1 is slower; rate: < 1 is fewer requests per second).",
        "",
        f"## Results (median of {config['runs']} runs)",
        "",
        *results_table(report),
        "",
    ]
    keyset = report.get("keyset")
    if keyset:
        out += [
            f"## Keyset: page {report['config']['deep_page']} vs page 1",
            "",
            *[f"- {line}" for line in keyset_lines(keyset)],
            "",
        ]
    out += ["## Per request: statements and round trips to PostgreSQL", ""]
    out += [
        "| endpoint | app round trips | raw round trips | same SQL | same JSON | app also sends |",
        "| --- | ---: | ---: | --- | --- | --- |",
    ]
    for item in report["endpoints"].values():
        trace = item["trace"]
        check = item["sql_check"]
        extra = "; ".join(_short(sql) for sql in check["app_extra"]) or "-"
        out.append(
            f"| {item['label']} | {trace['app']['round_trips']} | {trace['raw']['round_trips']} |"
            f" {'yes' if check['same_sql'] else 'NO'} |"
            f" {'yes' if item['documents']['same_document'] else 'NO'} | {extra} |"
        )
    out.append("")
    plans = report.get("plans") or {}
    if plans:
        out += ["## Query plans of the list statement", ""]
        for key, lines in plans.items():
            out += [f"{key}:", "", "```", *lines, "```", ""]
    out += ["## Every run", ""]
    out += [
        "| endpoint | run | server | max rps | CPU ms/req | achieved rps | p50 ms | p99 ms |"
        " errors | timed out | generator CPU (closed loop) | machine busy (open model) |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in report["endpoints"].values():
        for i, run in enumerate(item["runs"], 1):
            for name in SERVERS:
                w = run[name]
                out.append(
                    f"| {item['label']} | {i} | {name} | {_f(w['max_rps'], 0)} |"
                    f" {_f(w['cpu_ms_per_request'])} | {_f(w['achieved_rps'], 0)} |"
                    f" {_f(w['p50_ms'])} | {_f(w['p99_ms'])} |"
                    f" {w['errors']} | {w['timed_out']} | {w['generator_cpu']:.0%} |"
                    f" {w['machine_cpu']:.0%} |"
                )
    out += ["", f"Total time: {report['elapsed_seconds']:.0f} s.", ""]
    return "\n".join(out)


def keyset_lines(keyset: dict[str, Any]) -> list[str]:
    """The keyset verdict and its figures, one line each."""
    verdict = "no slower than" if keyset["no_slower"] else "SLOWER than"
    db = keyset["database"]
    timings = ", ".join(f"{label} {ms:.3f}" for label, ms in db["median_ms"].items())
    lines = [
        f"keyset: the deep page (page {DEEP_PAGES + 1}) is {verdict} page 1"
        f" (app over HTTP, and the statement on the database; tolerance {KEYSET_TOLERANCE:.0%})",
        f"database, list statement median ms: {timings}",
        f"database: deep/page 2 {db['deep_over_page2']:.2f}, deep/page 1"
        f" {db['deep_over_page1']:.2f}, OFFSET/keyset at that depth {db['offset_over_keyset']:.2f}",
    ]
    for name in SERVERS:
        r = keyset[name]["deep_over_page1"]
        lines.append(
            f"{name} over HTTP, deep/page 1: CPU ms/req {_f(r['cpu_ms_per_request'])},"
            f" max rps {_f(r['max_rps'])}, p50 {_f(r['p50_ms'])}"
        )
    return lines


def _short(sql: str) -> str:
    """A statement on one line: its start and its end when it is long."""
    text = " ".join(sql.split())
    if len(text) > 70:
        cut = text.rfind(" FROM ")
        text = f"{text[:32]} … {text[cut + 1 :] if cut > 0 else text[-34:]}"
    return f"`{text}`"


def _window_dict(window: Window) -> dict[str, Any]:
    return dict(vars(window))


# --- main ----------------------------------------------------------------------------------------


async def bench(config: Config, url: str, data_dir: str) -> dict[str, Any]:
    """Everything after seeding: preflight, servers, warm-up, runs."""
    started = time.perf_counter()
    machine = describe_machine(await postgres_facts(url))
    facts = await seed_facts(url)
    print("preflight: sign in, follow the cursor, trace the SQL of both servers")
    pre = await preflight(url, data_dir)
    eps = endpoints(pre)
    if not pre.locales_available:
        print("  GET /api/v1/locales does not answer yet: measuring /auth/me only")
    plans: dict[str, list[str]] = {}
    database: dict[str, float] = {}
    if pre.deep_cursor:
        plans = await explain(url, pre.client_id, pre.deep_cursor)
        database = await sql_timings(url, pre.client_id, pre.cursors)
    env = server_env(config, url, data_dir)
    ports = {name: free_port() for name in SERVERS}
    commands = {
        "app": uvicorn_command("kerops.main:create_app", ports["app"], config.workers),
        "raw": uvicorn_command("raw_app:app_factory", ports["raw"], config.workers),
    }
    with (
        serve("app", commands["app"], env, ports["app"]) as app_server,
        serve("raw", commands["raw"], env, ports["raw"]) as raw_server,
    ):
        servers = {"app": app_server, "raw": raw_server}
        bases = {name: server[0] for name, server in servers.items()}
        documents = await same_documents(bases, eps, pre.token)
        print("warm-up and calibration")
        rates = await calibrate(config, bases, eps, pre.token)
        print(f"offered rates: {rates}")
        reports = await measure(config, servers, eps, pre.token, rates)
    summaries = {r.endpoint.key: summarise(r) for r in reports}
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "seed": facts,
        "config": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(config).items()},
            "commands": {k: " ".join(v[2:]) for k, v in commands.items()},
            "deep_page": DEEP_PAGES + 1,
            "page_size": PAGE_SIZE,
        },
        "endpoints": {
            r.endpoint.key: {
                "label": r.endpoint.label,
                "path": r.endpoint.path,
                "offered_rps": r.offered_rps,
                "summary": summaries[r.endpoint.key],
                "runs": [{n: _window_dict(w) for n, w in run.items()} for run in r.runs],
                "trace": pre.traces[r.endpoint.key],
                "sql_check": sql_check(pre.traces[r.endpoint.key]),
                "documents": documents[r.endpoint.key],
            }
            for r in reports
        },
        "keyset": keyset_verdict({r.endpoint.key: r for r in reports}, database),
        "plans": plans,
        "elapsed_seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    """Seed if needed, benchmark, write ``bench/results/<date>-foundation.{json,md}``."""
    config = parse_args(argv)
    started = time.perf_counter()
    # Every set of connections spread evenly over the server's workers (see loadgen).
    loadgen.balance_connections(config.workers)
    url = seed.database_url(config.admin_url, config.database)
    if config.reseed or not asyncio.run(seed.database_is_seeded(config.admin_url, config.database)):
        print(f"seeding {config.database}")
        seed.seed(config.admin_url, config.database)
    with tempfile.TemporaryDirectory(prefix="kerops-bench-") as data_dir:
        report = uvloop.run(bench(config, url, data_dir))
    report["elapsed_seconds"] = time.perf_counter() - started
    config.out.mkdir(parents=True, exist_ok=True)
    stem = config.out / f"{report['date']}-foundation"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    markdown = render_markdown(report)
    stem.with_suffix(".md").write_text(markdown)
    print()
    print("\n".join(results_table(report)))
    keyset = report.get("keyset")
    if keyset:
        print()
        print("\n".join(keyset_lines(keyset)))
    print(f"\nwritten: {stem}.md, {stem}.json ({report['elapsed_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
