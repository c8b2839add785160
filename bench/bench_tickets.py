"""Tickets at scale: get, list (page 1 and a deep page), create and transition, beside a raw
reference, on the database filled by ``bench/seed_scale.py`` (1,000,000 tickets).

The app (``kerops.main:create_app``) and the raw reference (``raw_app:tickets_app_factory``: the
same statements on asyncpg, JSON built by hand) run side by side under the same uvicorn set-up and
are measured in the same run, alternately, so the app/raw ratios hold on a busy machine. See
``bench/README.md``.

Usage::

    .venv/bin/python bench/bench_tickets.py [--runs 3] [--scale 1] [--only get,list_p1]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _src_snapshot  # noqa: F401  (first: freezes the source)
import asyncpg
import httpx
import loadgen
import raw_app
import seed
import seed_scale
import uvloop
from bench_api import (
    HOST,
    RESULTS_DIR,
    _with_port,
    describe_machine,
    free_port,
    group_cpu_seconds,
    postgres_facts,
    serve,
    steadiness_line,
    uvicorn_command,
)
from pgtrace import TraceProxy

from kerops.config import Settings
from kerops.main import create_app

SERVERS = ("app", "raw")
CORES = os.cpu_count() or 1
PAGE_SIZE = 20
DEEP_PAGE = 1_000
LIST_STATUS = "completed"
#: Open-model steps of the sustainable-rate search, as shares of the window's closed-loop maximum.
STEPS = (0.25, 0.5, 0.7, 0.85, 1.0)
#: Product targets (2 cores, 2 workers).
TARGET_GET_RATIO = 0.5
TARGET_LIST_RATIO = 0.35
TARGET_WRITE_RPS = 500.0
TARGET_WRITE_P99_MS = 100.0
KEYSET_TOLERANCE = 0.15
CREATE_TITLES = [
    "Aire acondicionado no enfría",
    "Luminaria apagada en pasillo",
    "Filtración en baño de clientes",
    "Puerta automática no abre",
    "Cámara de frío con alarma",
]


@dataclass(frozen=True)
class Operation:
    """One benchmarked operation; its requests cycle through ``requests`` (per server)."""

    key: str
    label: str
    method: str
    #: (path, body) pairs sent in turn.
    requests: list[tuple[str, Any]]
    #: Writes change the data: the transition's tickets are put back after every window.
    resets: bool = False


@dataclass
class Config:
    """The command line."""

    admin_url: str
    database: str
    scale: float
    runs: int
    duration: float
    max_duration: float
    step_duration: float
    warmup: float
    connections: int
    max_connections: int
    load_fraction: float
    p99_bound_ms: float
    workers: int
    app_log_level: str
    only: str
    out: Path


@dataclass
class Window:
    """One server, one operation, one run."""

    max_rps: float
    #: Server CPU (all workers) per answered request in the closed loop.
    cpu_ms_per_request: float
    #: CPU of the PostgreSQL backends of this database per answered request (same window).
    db_cpu_ms_per_request: float
    offered_rps: float
    achieved_rps: float
    p50_ms: float
    p99_ms: float
    #: The highest open-model rate tried whose p99 stayed within the bound, every request
    #: answered (0: not even the lowest step).
    sustainable_rps: float
    sustainable_p99_ms: float
    steps: list[dict[str, float]]
    errors: int
    timed_out: int
    statuses: dict[str, int]
    machine_cpu: float
    #: What the cores could serve if nothing else ran: cores / (server + database CPU per
    #: request); the load generator's own CPU is left out.
    ceiling_rps: float = math.nan


@dataclass
class OperationReport:
    """Everything measured for one operation."""

    operation: Operation
    offered_rps: float = 0.0
    runs: list[dict[str, Window]] = field(default_factory=list)


def parse_args(argv: list[str] | None) -> Config:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=seed.DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default=seed_scale.DEFAULT_DATABASE)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fill size if the database is not filled yet"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="open model at half load (s)")
    parser.add_argument("--max-duration", type=float, default=2.0, help="closed loop (s)")
    parser.add_argument("--step-duration", type=float, default=3.0, help="each rate step (s)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up per server (s)")
    parser.add_argument("--connections", type=int, default=32, help="open-model connections")
    parser.add_argument("--max-connections", type=int, default=16, help="closed-loop connections")
    parser.add_argument("--load-fraction", type=float, default=0.5)
    parser.add_argument("--p99-bound-ms", type=float, default=TARGET_WRITE_P99_MS)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers per server")
    parser.add_argument("--app-log-level", default="INFO", help="KEROPS_LOG_LEVEL of the app")
    parser.add_argument("--only", default="", help="comma-separated operation keys")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    return Config(**vars(args))


# --- the data the requests use -------------------------------------------------------------------


@dataclass
class Dataset:
    """Ids picked from the filled database for the requests."""

    client_id: uuid.UUID
    get_ids: list[uuid.UUID]
    list_locales: list[uuid.UUID]
    #: (locale id, asset id) pairs of the client.
    create_targets: list[tuple[uuid.UUID, uuid.UUID]]
    #: Open tickets of the client (moved open → assigned, put back after each window).
    open_ids: list[uuid.UUID]
    deep_cursor: str
    page2_cursor: str
    rows: dict[str, int]
    client_tickets: int
    client_status_tickets: int
    client_locales: int
    fill: dict[str, Any]


def cursor_of(created_at: datetime, ticket_id: uuid.UUID) -> str:
    """The app's keyset cursor after a ticket, in the default sort (``-created_at``)."""
    payload = {"s": "-created_at", "i": str(ticket_id), "v": created_at.isoformat()}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def pick_dataset(url: str, fill_marker: dict[str, Any]) -> Dataset:
    """Choose the measured client (the big one) and the ids its requests use."""
    rng = random.Random(5)
    conn = await asyncpg.connect(url)
    try:
        client_id = await conn.fetchval(
            "SELECT id FROM users WHERE email = $1", seed.owner_email(0)
        )
        ids = await conn.fetch(
            "SELECT id FROM service_tickets TABLESAMPLE SYSTEM (2) WHERE client_id = $1 LIMIT 4000",
            client_id,
        )
        get_ids = [r["id"] for r in ids]
        rng.shuffle(get_ids)
        locales = await conn.fetch(
            "SELECT id FROM locales WHERE client_id = $1 ORDER BY id", client_id
        )
        list_locales = rng.sample([r["id"] for r in locales], k=min(200, len(locales)))
        pairs = await conn.fetch(
            "SELECT locale_id, id FROM assets WHERE client_id = $1 ORDER BY id", client_id
        )
        create_targets = rng.sample(
            [(r["locale_id"], r["id"]) for r in pairs], k=min(2000, len(pairs))
        )
        opened = await conn.fetch(
            "SELECT id FROM service_tickets WHERE client_id = $1 AND status = 'open' ORDER BY id",
            client_id,
        )
        open_ids = [r["id"] for r in opened]
        rng.shuffle(open_ids)
        order = (
            "FROM service_tickets WHERE client_id = $1 AND status = $2 "
            "ORDER BY created_at DESC, id DESC OFFSET $3 LIMIT 1"
        )
        deep = await conn.fetchrow(
            f"SELECT created_at, id {order}",
            client_id,
            LIST_STATUS,
            (DEEP_PAGE - 1) * PAGE_SIZE - 1,
        )
        page2 = await conn.fetchrow(
            f"SELECT created_at, id {order}", client_id, LIST_STATUS, PAGE_SIZE - 1
        )
        rows = {}
        for table in (
            "users",
            "locales",
            "local_areas",
            "local_members",
            "assets",
            "workflows",
            "workflow_steps",
            "service_tickets",
            "ticket_tasks",
            "ticket_history",
            "ticket_counters",
            "audit_logs",
        ):
            rows[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
        client_tickets = await conn.fetchval(
            "SELECT count(*) FROM service_tickets WHERE client_id = $1", client_id
        )
        client_status = await conn.fetchval(
            "SELECT count(*) FROM service_tickets WHERE client_id = $1 AND status = $2",
            client_id,
            LIST_STATUS,
        )
    finally:
        await conn.close()
    if deep is None:
        raise SystemExit(f"the client has fewer than {DEEP_PAGE} pages of {LIST_STATUS} tickets")
    return Dataset(
        client_id=client_id,
        get_ids=get_ids,
        list_locales=list_locales,
        create_targets=create_targets,
        open_ids=open_ids,
        deep_cursor=cursor_of(deep["created_at"], deep["id"]),
        page2_cursor=cursor_of(page2["created_at"], page2["id"]),
        rows=rows,
        client_tickets=client_tickets,
        client_status_tickets=client_status,
        client_locales=len(locales),
        fill=fill_marker,
    )


def operations(data: Dataset) -> list[Operation]:
    """The benchmarked requests."""
    base = f"/api/v1/tickets?status={LIST_STATUS}&limit={PAGE_SIZE}"
    creates = []
    for i, (locale_id, asset_id) in enumerate(data.create_targets):
        body = {
            "title": CREATE_TITLES[i % len(CREATE_TITLES)],
            "description": "Reportado por el encargado del local.",
            "locale_id": str(locale_id),
            "asset_id": str(asset_id),
            "priority": ("low", "medium", "medium", "high", "critical")[i % 5],
        }
        creates.append(("/api/v1/tickets", body))
    return [
        Operation(
            "get",
            "GET /tickets/{id}",
            "GET",
            [(f"/api/v1/tickets/{i}", None) for i in data.get_ids],
        ),
        Operation(
            "list_locale",
            f"GET /tickets?status={LIST_STATUS}&locale_id=… (page 1)",
            "GET",
            [(f"{base}&locale_id={locale}", None) for locale in data.list_locales],
        ),
        Operation("list_p1", f"GET /tickets?status={LIST_STATUS} (page 1)", "GET", [(base, None)]),
        Operation(
            "list_deep",
            f"GET /tickets?status={LIST_STATUS} (page {DEEP_PAGE:,}, cursor)",
            "GET",
            [(f"{base}&cursor={data.deep_cursor}", None)],
        ),
        Operation("create", "POST /tickets", "POST", creates),
        Operation(
            "transition",
            "POST /tickets/{id}/transitions (open → assigned)",
            "POST",
            [
                (f"/api/v1/tickets/{i}/transitions", {"to_status": "assigned"})
                for i in data.open_ids
            ],
            resets=True,
        ),
    ]


async def reset_transitions(url: str, ids: list[uuid.UUID], since: datetime) -> int:
    """Put the transition pool back to ``open`` (and drop the history rows the runs added)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            moved = await conn.fetch(
                "UPDATE service_tickets SET status = 'open' "
                "WHERE id = ANY($1::uuid[]) AND status <> 'open' RETURNING id",
                ids,
            )
            await conn.execute(
                "DELETE FROM ticket_history WHERE ticket_id = ANY($1::uuid[]) AND created_at >= $2",
                [r["id"] for r in moved],
                since,
            )
    finally:
        await conn.close()
    return len(moved)


# --- preflight: SQL traces and documents ---------------------------------------------------------


def _settings(url: str, data_dir: str) -> Settings:
    return Settings(
        database_url=url,
        data_dir=Path(data_dir),
        secret_key=seed.SECRET_KEY,
        log_level="WARNING",
        access_token_minutes=600,
    )


async def sign_in(url: str, data_dir: str) -> str:
    """An access token of the measured client's owner (signed in through the app in-process)."""
    app = create_app(_settings(url, data_dir))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as a,
    ):
        login = await a.post(
            "/api/v1/auth/login", json={"email": seed.owner_email(0), "password": seed.PASSWORD}
        )
        login.raise_for_status()
        token: str = login.json()["access_token"]
        return token


def _comparable(document: Any, op: str) -> Any:
    """A document with what legitimately differs between two writes taken out."""
    if op not in ("create", "transition") or not isinstance(document, dict):
        return document
    volatile = {"id", "number", "code", "created_at", "updated_at"}
    volatile |= {"sla_response_due_at", "sla_resolution_due_at"}
    return {k: v for k, v in document.items() if k not in volatile}


async def preflight(
    url: str, data_dir: str, data: Dataset, ops: list[Operation], settle: float = 4.0
) -> dict[str, Any]:
    """Both servers in-process behind a tracing proxy: sign in, check the deep cursor, record the
    statements and round trips of one warm request per operation and server, compare the JSON."""
    parts = urlsplit(url)
    result: dict[str, Any] = {"traces": {}, "documents": {}}
    async with TraceProxy(parts.hostname or HOST, parts.port or 5432) as proxy:
        traced = _with_port(url, proxy.port)
        app = create_app(_settings(traced, data_dir))
        reference = raw_app.TicketsReference(traced, seed.SECRET_KEY)
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
            result["token"] = token
            first = await a.get(
                f"/api/v1/tickets?status={LIST_STATUS}&limit={PAGE_SIZE}", headers=headers
            )
            first.raise_for_status()
            result["cursor_encoding_matches"] = first.json()["next_cursor"] == data.page2_cursor
            clients = {"app": a, "raw": r}
            for op in ops:
                traces: dict[str, Any] = {}
                documents: dict[str, Any] = {}
                for n, name in enumerate(SERVERS):
                    client = clients[name]
                    # Writes use requests of their own (a ticket moves only once).
                    offset = 10 * n if op.method == "POST" else 0
                    n_requests = len(op.requests)
                    for k in range(offset, offset + 3):
                        path, body = op.requests[k % n_requests]
                        await client.request(op.method, path, json=body, headers=headers)
                    path, body = op.requests[(offset + 3) % n_requests]
                    # Jobs queued by earlier requests (the in-process broker runs them in the
                    # same process) finish first; this request's own jobs are waited for after
                    # the answer and counted apart.
                    await asyncio.sleep(settle if op.method == "POST" else 0.05)
                    proxy.trace.clear()
                    response = await client.request(op.method, path, json=body, headers=headers)
                    await asyncio.sleep(0.05)
                    in_request = len(proxy.trace.statements)
                    trips_in_request = proxy.trace.round_trips
                    if op.method == "POST":
                        await asyncio.sleep(1.5 * settle)
                    statements = [sql for _, sql in proxy.trace.statements]
                    traces[name] = {
                        "status": response.status_code,
                        "round_trips": trips_in_request,
                        "statements": statements[:in_request],
                        "after_response": statements[in_request:],
                        "round_trips_after_response": proxy.trace.round_trips - trips_in_request,
                    }
                    if op.method == "GET":
                        documents[name] = response.json()
                if op.method == "POST":
                    # The same kind of write on both servers: compare what does not vary.
                    path, body = op.requests[30]
                    one = await a.request(op.method, path, json=body, headers=headers)
                    path, body = op.requests[31]
                    two = await r.request(op.method, path, json=body, headers=headers)
                    documents = {"app": one.json(), "raw": two.json()}
                same = _comparable(documents["app"], op.key) == _comparable(
                    documents["raw"], op.key
                )
                if not same and op.method == "POST":
                    # Different tickets: compare the shape (keys in order) only.
                    same = list(documents["app"]) == list(documents["raw"])
                result["traces"][op.key] = traces
                result["documents"][op.key] = {
                    "same": same,
                    "keys": list(documents["app"]) if isinstance(documents["app"], dict) else [],
                    "app_sample": documents["app"] if not same else None,
                    "raw_sample": documents["raw"] if not same else None,
                }
    return result


def sql_check(trace: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Is every statement of the reference also sent by the app, with the same text?"""
    app = trace["app"]["statements"]
    raw = trace["raw"]["statements"]
    missing = [s for s in dict.fromkeys(raw) if s not in app and s not in ("BEGIN;", "COMMIT;")]
    extra = list(app)
    for statement in raw:
        if statement in extra:
            extra.remove(statement)
    return {"same_text": not missing, "reference_only": missing, "app_only": extra}


# --- the database alone --------------------------------------------------------------------------


async def database_timings(url: str, data: Dataset, budget: float = 4.0) -> dict[str, Any]:
    """The list statement alone (median ms) for page 1, page 2 and the deep page, and its plans."""
    import tickets_sql

    sql = tickets_sql.Statements()
    first, first_order = sql.list_tickets(locale=False, keyset=False)
    after, after_order = sql.list_tickets(locale=False, keyset=True)
    by_locale, locale_order = sql.list_tickets(locale=True, keyset=False)

    def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=="))
        return datetime.fromisoformat(raw["v"]), uuid.UUID(raw["i"])

    cases: dict[str, tuple[str, list[Any]]] = {}
    values = {"client_id": data.client_id, "status": LIST_STATUS, "limit": PAGE_SIZE + 1}
    cases["status, page 1"] = (first, [values[n] for n in first_order])
    for label, cursor in (("page 2", data.page2_cursor), (f"page {DEEP_PAGE}", data.deep_cursor)):
        created, last = decode(cursor)
        v = {**values, "created_at": created, "id": last}
        cases[f"status, {label}"] = (after, [v[n] for n in after_order])
    v = {**values, "locale_id": data.list_locales[0]}
    cases["status + locale, page 1"] = (by_locale, [v[n] for n in locale_order])
    offset_sql = first.replace("LIMIT $2::INTEGER", "LIMIT $2::INTEGER OFFSET $4::INTEGER")
    if offset_sql != first:
        args = [values[n] for n in first_order] + [(DEEP_PAGE - 1) * PAGE_SIZE]
        cases[f"status, page {DEEP_PAGE} by OFFSET"] = (offset_sql, args)
    conn = await asyncpg.connect(url)
    timings: dict[str, float] = {}
    plans: dict[str, list[str]] = {}
    try:
        for label, (statement, args) in cases.items():
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *args)
            plans[label] = [row[0] for row in plan]
        # The cases take turns, one execution each, so a slower stretch of the machine falls on
        # all of them alike (measured one after the other, page 1,000 once came out 35 % slower
        # than page 1 with the same plan, the same buffers and a shorter execution time).
        samples: dict[str, list[float]] = {label: [] for label in cases}
        deadline = time.perf_counter() + budget * len(cases)
        while min(map(len, samples.values())) < 5 or (
            time.perf_counter() < deadline and min(map(len, samples.values())) < 300
        ):
            for label, (statement, args) in cases.items():
                started = time.perf_counter()
                await conn.fetch(statement, *args)
                samples[label].append(time.perf_counter() - started)
        timings = {label: statistics.median(taken) * 1000 for label, taken in samples.items()}
    finally:
        await conn.close()
    return {"median_ms": timings, "plans": plans}


# --- measurement ---------------------------------------------------------------------------------


def _source(base: str, op: Operation, token: str) -> loadgen.RequestCycle:
    parts = urlsplit(base)
    host, port = parts.hostname or HOST, parts.port or 80
    headers = (("Authorization", f"Bearer {token}"),)
    requests = [
        loadgen.http_request(host, port, op.method, path, headers, body)
        for path, body in op.requests
    ]
    return loadgen.RequestCycle(host, port, requests)


@dataclass
class Servers:
    """The running servers and their request sources."""

    bases: dict[str, str]
    groups: dict[str, int]
    sources: dict[tuple[str, str], loadgen.RequestCycle]


async def _after(config: Config, url: str, op: Operation, data: Dataset, since: datetime) -> None:
    if op.resets:
        await reset_transitions(url, data.open_ids, since)


async def calibrate(
    config: Config, url: str, servers: Servers, ops: list[Operation], data: Dataset, since: datetime
) -> dict[str, float]:
    """Warm both servers on every operation, then each operation's common open-model rate: a
    share of the app's closed-loop maximum."""
    rates: dict[str, float] = {}
    for op in ops:
        for name in SERVERS:
            await loadgen.closed_loop(
                servers.sources[(name, op.key)],
                connections=config.max_connections,
                duration=config.warmup,
            )
            await _after(config, url, op, data, since)
        measured = await loadgen.closed_loop(
            servers.sources[("app", op.key)],
            connections=config.max_connections,
            duration=config.max_duration,
        )
        await _after(config, url, op, data, since)
        rates[op.key] = max(1.0, round(config.load_fraction * measured.drained_rps, 1))
        print(f"  app maximum on {op.key:<12} {measured.drained_rps:8.1f} rps", flush=True)
    return rates


async def database_cpu_seconds(url: str) -> dict[int, float]:
    """CPU time (user + system) so far of each PostgreSQL backend serving this database."""
    conn = await asyncpg.connect(url)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return _process_cpu([row["pid"] for row in pids])


def _process_cpu(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def _passes(result: loadgen.Result, bound_ms: float) -> bool:
    assert result.offered_rps is not None
    return (
        result.timed_out == 0
        and result.errors == 0
        and result.percentile(0.99) * 1000 <= bound_ms
        and result.completed >= 0.95 * int(result.offered_rps * result.duration)
    )


async def measure_window(
    config: Config,
    url: str,
    servers: Servers,
    name: str,
    op: Operation,
    rate: float,
    data: Dataset,
    since: datetime,
) -> Window:
    """One server, one operation: open model at the common rate, closed loop, rate steps."""
    source = servers.sources[(name, op.key)]
    # At least 10 arrivals, so that a slow operation's p99 rests on more than a handful.
    opened = await loadgen.open_loop(
        source,
        rate=rate,
        duration=max(config.duration, 10 / rate),
        connections=config.connections,
    )
    await _after(config, url, op, data, since)
    db_before = await database_cpu_seconds(url)
    cpu_before = group_cpu_seconds(servers.groups[name])
    closed = await loadgen.closed_loop(
        source, connections=config.max_connections, duration=config.max_duration
    )
    cpu = group_cpu_seconds(servers.groups[name]) - cpu_before
    db_cpu = _spent(db_before, await database_cpu_seconds(url))
    await _after(config, url, op, data, since)
    answered = closed.completed + closed.errors
    steps: list[dict[str, float]] = []
    sustainable, sustainable_p99 = 0.0, math.nan
    for share in STEPS:
        step_rate = max(1.0, round(share * closed.drained_rps, 1))
        result = await loadgen.open_loop(
            source,
            rate=step_rate,
            duration=max(config.step_duration, 5 / step_rate),
            connections=config.connections,
            grace=1.0,
        )
        await _after(config, url, op, data, since)
        ok = _passes(result, config.p99_bound_ms)
        steps.append(
            {
                "offered_rps": step_rate,
                "achieved_rps": result.achieved_rps,
                "p99_ms": result.percentile(0.99) * 1000,
                "errors": result.errors,
                "timed_out": result.timed_out,
                "ok": ok,
            }
        )
        if not ok:
            break
        sustainable, sustainable_p99 = step_rate, result.percentile(0.99) * 1000
    statuses = {str(k): v for k, v in (opened.statuses + closed.statuses).items()}
    return Window(
        max_rps=closed.drained_rps,
        cpu_ms_per_request=cpu * 1000 / answered if answered else math.nan,
        db_cpu_ms_per_request=db_cpu * 1000 / answered if answered else math.nan,
        offered_rps=rate,
        achieved_rps=opened.achieved_rps,
        p50_ms=opened.percentile(0.50) * 1000,
        p99_ms=opened.percentile(0.99) * 1000,
        sustainable_rps=sustainable,
        sustainable_p99_ms=sustainable_p99,
        steps=steps,
        errors=opened.errors + closed.errors,
        timed_out=opened.timed_out,
        statuses=statuses,
        machine_cpu=opened.machine_cpu,
        ceiling_rps=CORES * 1000 / (cpu * 1000 / answered + db_cpu * 1000 / answered)
        if answered and cpu + db_cpu > 0
        else math.nan,
    )


def _line(w: Window) -> str:
    return (
        f"{w.max_rps:6.1f} max, {w.sustainable_rps:6.1f} sust, {w.cpu_ms_per_request:6.2f} CPU ms,"
        f" p50 {w.p50_ms:7.2f} p99 {w.p99_ms:8.2f}"
    )


async def measure(
    config: Config,
    url: str,
    servers: Servers,
    ops: list[Operation],
    rates: dict[str, float],
    data: Dataset,
    since: datetime,
) -> list[OperationReport]:
    """``runs`` rounds; in each, every operation on both servers (order alternating per run)."""
    reports = [OperationReport(op, offered_rps=rates[op.key]) for op in ops]
    for run in range(config.runs):
        order = SERVERS if run % 2 == 0 else tuple(reversed(SERVERS))
        for report in reports:
            windows = {}
            for name in order:
                windows[name] = await measure_window(
                    config, url, servers, name, report.operation, report.offered_rps, data, since
                )
            report.runs.append(windows)
            app, raw = windows["app"], windows["raw"]
            print(
                f"  run {run + 1} {report.operation.key:<11} app {_line(app)} | raw {_line(raw)}",
                flush=True,
            )
    return reports


async def measure_pages_together(
    config: Config, servers: Servers, ops: list[Operation], rates: dict[str, float], token: str
) -> dict[str, Any] | None:
    """Page 1 and page 1,000 in one open-model window per run and server, the two taking turns
    at the lower of their common rates: the same load and the same stretch of the machine for
    both, so their p50s compare directly (the operations' own windows run at different rates and
    times)."""
    by_key = {op.key: op for op in ops}
    if "list_p1" not in by_key or "list_deep" not in by_key:
        return None
    rate = min(rates["list_p1"], rates["list_deep"])
    runs: list[dict[str, dict[str, float]]] = []
    for _ in range(config.runs):
        windows: dict[str, dict[str, float]] = {}
        for name in SERVERS:
            first = _source(servers.bases[name], by_key["list_p1"], token)
            deep = _source(servers.bases[name], by_key["list_deep"], token)
            mixed = [r for pair in zip(first.requests, deep.requests, strict=False) for r in pair]
            source = loadgen.RequestCycle(first.host, first.port, mixed)
            result = await loadgen.open_loop(
                source, rate=rate, duration=config.duration, connections=config.connections
            )

            def p50(requests: list[bytes], result: loadgen.Result = result) -> float:
                taken = sorted(t for r in requests for t in result.by_request.get(r, []))
                return taken[len(taken) // 2] * 1000 if taken else math.nan

            windows[name] = {
                "page_1_p50_ms": p50(first.requests),
                "deep_p50_ms": p50(deep.requests),
            }
        runs.append(windows)
        app = windows["app"]
        print(
            f"  together: page 1 p50 {app['page_1_p50_ms']:.2f} ms, page {DEEP_PAGE:,}"
            f" {app['deep_p50_ms']:.2f} ms (app, {rate:.0f} rps)",
            flush=True,
        )
    median = {
        name: {
            key: _median([run[name][key] for run in runs])
            for key in ("page_1_p50_ms", "deep_p50_ms")
        }
        for name in SERVERS
    }
    return {"rate": rate, "runs": runs, "median": median}


# --- summary -------------------------------------------------------------------------------------

METRICS = (
    "max_rps",
    "sustainable_rps",
    "cpu_ms_per_request",
    "db_cpu_ms_per_request",
    "ceiling_rps",
    "achieved_rps",
    "p50_ms",
    "p99_ms",
)


def _median(values: list[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def summarise(report: OperationReport) -> dict[str, Any]:
    """Medians over the runs per server, and the median of the per-run app/raw ratios."""
    median = {
        name: {m: _median([getattr(run[name], m) for run in report.runs]) for m in METRICS}
        for name in SERVERS
    }
    ratio = {
        m: _median(
            [
                getattr(run["app"], m) / getattr(run["raw"], m)
                for run in report.runs
                if getattr(run["raw"], m)
            ]
        )
        for m in METRICS
    }
    totals = {
        name: {
            "errors": sum(run[name].errors for run in report.runs),
            "timed_out": sum(run[name].timed_out for run in report.runs),
            "machine_cpu": _median([run[name].machine_cpu for run in report.runs]),
        }
        for name in SERVERS
    }
    return {"median": median, "ratio": ratio, "totals": totals}


def targets(
    summaries: dict[str, dict[str, Any]],
    database: dict[str, Any],
    together: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The product targets, each with the measured figure and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(label: str, measured: str, met: bool | None) -> None:
        out.append({"target": label, "measured": measured, "met": met})

    if "get" in summaries:
        r = summaries["get"]["ratio"]["max_rps"]
        add(f"get ≥ {TARGET_GET_RATIO}x raw (max rps)", f"{r:.2f}x", r >= TARGET_GET_RATIO)
    for key in ("list_locale", "list_p1", "list_deep"):
        if key in summaries:
            r = summaries[key]["ratio"]["max_rps"]
            add(f"{key} ≥ {TARGET_LIST_RATIO}x raw (max rps)", f"{r:.2f}x", r >= TARGET_LIST_RATIO)
    if "list_p1" in summaries and "list_deep" in summaries:
        p1 = summaries["list_p1"]["median"]["app"]
        deep = summaries["list_deep"]["median"]["app"]
        if together is not None:
            app = together["median"]["app"]
            ratio = app["deep_p50_ms"] / app["page_1_p50_ms"]
            add(
                f"page {DEEP_PAGE:,} no slower than page 1 (app p50, both pages taking turns in"
                " one window, within 15 %)",
                f"{ratio:.2f}x (p50 {app['deep_p50_ms']:.2f} vs {app['page_1_p50_ms']:.2f} ms at"
                f" {together['rate']:.0f} rps)",
                ratio <= 1 + KEYSET_TOLERANCE,
            )
        else:
            ratio = deep["p50_ms"] / p1["p50_ms"]
            add(
                f"page {DEEP_PAGE:,} no slower than page 1 (app p50, each page's own window,"
                " within 15 %)",
                f"{ratio:.2f}x (p50 {deep['p50_ms']:.0f} vs {p1['p50_ms']:.0f} ms;"
                f" max {deep['max_rps']:.1f} vs {p1['max_rps']:.1f} rps)",
                ratio <= 1 + KEYSET_TOLERANCE,
            )
        t = database.get("median_ms", {})
        if t:
            d, one = t.get(f"status, page {DEEP_PAGE}", math.nan), t.get("status, page 1", math.nan)
            add(
                f"page {DEEP_PAGE:,} no slower than page 1 (statement alone, within 15 %)",
                f"{d:.1f} vs {one:.1f} ms",
                d <= (1 + KEYSET_TOLERANCE) * one,
            )
    for key in ("create", "transition"):
        if key in summaries:
            m = summaries[key]["median"]["app"]
            add(
                f"{key} ≥ {TARGET_WRITE_RPS:.0f} rps with p99 ≤ {TARGET_WRITE_P99_MS:.0f} ms",
                f"{m['sustainable_rps']:.0f} rps sustained (max {m['max_rps']:.0f})",
                m["sustainable_rps"] >= TARGET_WRITE_RPS,
            )
    return out


# --- output --------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def results_table(report: dict[str, Any]) -> list[str]:
    """The main table: medians per server and the app/raw ratio per operation."""
    lines = [
        "| operation | | max rps | sustained rps (p99 ≤ bound) | server CPU ms/req |"
        " PG CPU ms/req | ceiling rps (idle cores) | offered rps | p50 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in report["operations"].values():
        s = item["summary"]
        for name in SERVERS:
            m = s["median"][name]
            label = item["label"] if name == "app" else ""
            lines.append(
                f"| {label} | {name} | {_f(m['max_rps'], 0)} | {_f(m['sustainable_rps'], 0)} |"
                f" {_f(m['cpu_ms_per_request'])} | {_f(m['db_cpu_ms_per_request'])} |"
                f" {_f(m['ceiling_rps'], 0)} | {_f(item['offered_rps'], 1)} |"
                f" {_f(m['p50_ms'])} | {_f(m['p99_ms'])} |"
            )
        r = s["ratio"]
        lines.append(
            f"| | **app/raw** | **{_f(r['max_rps'])}** | **{_f(r['sustainable_rps'])}** |"
            f" **{_f(r['cpu_ms_per_request'])}** | {_f(r['db_cpu_ms_per_request'])} |"
            f" **{_f(r['ceiling_rps'])}** | | **{_f(r['p50_ms'])}** | **{_f(r['p99_ms'])}** |"
        )
    return lines


def _short(sql: str, width: int = 150) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render_markdown(report: dict[str, Any]) -> str:
    """The result file."""
    machine = report["machine"]
    config = report["config"]
    data = report["dataset"]
    fill = data["fill"]
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    rows = ", ".join(f"{v:,} {k}" for k, v in data["rows"].items())
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in fill.get("phases", {}).items())
    out = [
        f"# Tickets at scale, {report['date']}",
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
        "## Data",
        "",
        f"- Database `{config['database']}` filled by `bench/seed_scale.py` "
        f"(size {fill.get('size')}) in **{fill.get('seconds', 0):.0f} s** ({phases}).",
        f"- Rows now: {rows}.",
        f"- The measured client (`{seed.owner_email(0)}`, a client owner) has"
        f" {data['client_locales']:,} locales and {data['client_tickets']:,} tickets,"
        f" {data['client_status_tickets']:,} of them `{LIST_STATUS}`.",
        "",
        "## Set-up",
        "",
        f"- Both servers: uvicorn, {config['workers']} workers, uvloop + httptools, no access log;"
        " every set of the load generator's connections spread evenly over the workers;"
        f" the app with `KEROPS_ENVIRONMENT=production`, log level {config['app_log_level']}."
        " The load generator and PostgreSQL run on the same machine.",
        f"- Per run, operation and server (servers alternating): open model at a common rate"
        f" ({config['load_fraction']:.0%} of the app's calibrated maximum, {config['duration']:.0f}"
        f" s) for p50/p99; closed loop ({config['max_connections']} connections,"
        f" {config['max_duration']:.0f} s) for max rps and CPU per request; then open-model steps"
        f" of {config['step_duration']:.0f} s at {', '.join(f'{s:.0%}' for s in STEPS)} of that"
        f" maximum until p99 exceeds {config['p99_bound_ms']:.0f} ms (or a request fails or is"
        " left unanswered): the last step that held is the **sustained rps**.",
        f"- {config['runs']} runs; figures are medians, ratios the medians of per-run app/raw"
        " ratios. Transitions move `open` tickets of the client to `assigned`; after every window"
        " the moved tickets are put back to `open` (and their new history rows removed), outside"
        " the measurement. Creates add tickets (with asset) to random locales of the client.",
        "",
        "## Results",
        "",
        *results_table(report),
        "",
        "Errors / timeouts per server over all runs: "
        + "; ".join(
            f"{item['label']}: app {item['summary']['totals']['app']['errors']}/"
            f"{item['summary']['totals']['app']['timed_out']}, raw"
            f" {item['summary']['totals']['raw']['errors']}/"
            f"{item['summary']['totals']['raw']['timed_out']}"
            for item in report["operations"].values()
        )
        + ".",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
    ]
    for t in report["targets"]:
        met = "yes" if t["met"] else "**no**"
        out.append(f"| {t['target']} | {t['measured']} | {met} |")
    database = report["database"]
    out += [
        "",
        "## The list statement alone",
        "",
        "| case | median ms |",
        "| --- | ---: |",
    ]
    for label, value in database.get("median_ms", {}).items():
        out.append(f"| {label} | {_f(value)} |")
    out += ["", "## SQL per request (preflight trace, one warm request)", ""]
    for item in report["operations"].values():
        trace = item["trace"]
        check = item["sql_check"]
        out.append(
            f"- **{item['label']}**: app {len(trace['app']['statements'])} statements /"
            f" {trace['app']['round_trips']} round trips, raw"
            f" {len(trace['raw']['statements'])} / {trace['raw']['round_trips']};"
            f" same text: {'yes' if check['same_text'] else 'NO'}; same JSON:"
            f" {'yes' if item['documents']['same'] else 'NO'}"
        )
        for statement in trace["app"]["statements"]:
            out.append(f"  - `{_short(statement)}`")
        later = trace["app"].get("after_response") or []
        if later:
            out.append(
                f"  - then, after the answer, {len(later)} more statements"
                f" ({trace['app'].get('round_trips_after_response', 0)} round trips) from the jobs"
                " the request queued (in-process broker), e.g.:"
            )
            for statement in list(dict.fromkeys(later))[:12]:
                out.append(f"    - `{_short(statement)}`")
        if check["reference_only"]:
            out.append(
                "  - reference only: "
                + "; ".join(f"`{_short(s)}`" for s in check["reference_only"])
            )
    out += ["", "## Plans", ""]
    for label, plan in database.get("plans", {}).items():
        out += [f"{label}:", "", "```", *plan, "```", ""]
    out += [
        "## Per run",
        "",
        "| run | operation | server | max rps | sustained | CPU ms/req | p50 | p99 | busy |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, item in report["operations"].items():
        for i, run in enumerate(item["runs"], 1):
            for name in SERVERS:
                w = run[name]
                out.append(
                    f"| {i} | {key} | {name} | {_f(w['max_rps'], 1)} |"
                    f" {_f(w['sustainable_rps'], 1)} | {_f(w['cpu_ms_per_request'])} |"
                    f" {_f(w['p50_ms'])} | {_f(w['p99_ms'])} |"
                    f" {w['machine_cpu']:.0%} |"
                )
    out.append("")
    out.append(f"Total time of the run: {report['elapsed_seconds'] / 60:.0f} min.")
    out.append("")
    return "\n".join(out)


# --- main ----------------------------------------------------------------------------------------


def bring_schema_up(url: str) -> list[str]:
    """Migrate to the newest revision, then add what the models have and the database lacks.

    The migrations of a checkout under active work can be renumbered or rewritten after the
    database was filled (same revision id, other content): ``upgrade`` then does nothing though
    the models expect more. Missing tables (with their indexes) and missing columns are added
    from the models, as the migrations would (a NOT NULL column takes its server default or, for
    the existing rows, its scalar default). Returns what was added."""
    from sqlalchemy import inspect, text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.schema import CreateColumn

    from kerops.core.models import Base

    seed.migrate(url)
    added: list[str] = []

    def sync(conn: Any) -> None:
        existing = set(inspect(conn).get_table_names())
        missing_tables = [t for t in Base.metadata.sorted_tables if t.name not in existing]
        Base.metadata.create_all(conn, tables=missing_tables)
        added.extend(f"table {t.name}" for t in missing_tables)
        inspector = inspect(conn)
        for table in Base.metadata.sorted_tables:
            if table.name not in existing:
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                spec = str(CreateColumn(column).compile(dialect=conn.dialect))
                if not column.nullable and column.server_default is None:
                    spec = spec.replace(" NOT NULL", "")
                    if column.default is not None and getattr(column.default, "is_scalar", False):
                        value = column.default.arg
                        literal = str(value).lower() if isinstance(value, bool) else repr(value)
                        spec += f" DEFAULT {literal}"
                ddl = f"ALTER TABLE {table.name} ADD COLUMN {spec}"
                conn.execute(text(ddl))
                added.append(f"column {table.name}.{column.name}")

    async def run() -> None:
        engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(sync)
        finally:
            await engine.dispose()

    asyncio.run(run())
    return added


def server_env(config: Config, url: str, data_dir: str) -> dict[str, str]:
    """The ``KEROPS_*`` environment shared by the app and the reference."""
    env = dict(os.environ)
    bench_dir = str(Path(__file__).resolve().parent)
    env.update(
        KEROPS_DATABASE_URL=url,
        KEROPS_SECRET_KEY=seed.SECRET_KEY,
        KEROPS_DATA_DIR=data_dir,
        KEROPS_ENVIRONMENT="production",
        KEROPS_LOG_LEVEL=config.app_log_level,
        KEROPS_ACCESS_TOKEN_MINUTES="600",
        # Periodic jobs (SLA sweeps, deliveries…) would run inside the app's workers only: off,
        # so that both servers do request work alone.
        KEROPS_EMBEDDED_SCHEDULER="false",
        PYTHONPATH=os.pathsep.join(p for p in (bench_dir, env.get("PYTHONPATH")) if p),
    )
    return env


async def bench(config: Config, url: str, data_dir: str, fill: dict[str, Any]) -> dict[str, Any]:
    """Everything after the fill: dataset, preflight, database timings, servers, runs."""
    started = time.perf_counter()
    since = datetime.now(UTC)
    machine = describe_machine(await postgres_facts(url))
    data = await pick_dataset(url, fill)
    ops = operations(data)
    if config.only:
        wanted = set(config.only.split(","))
        ops = [op for op in ops if op.key in wanted]
    print(
        f"client: {data.client_tickets:,} tickets, {len(data.open_ids):,} open;"
        f" preflight (trace, documents)",
        flush=True,
    )
    pre = await preflight(url, data_dir, data, ops)
    for op in ops:
        await _after(config, url, op, data, since)
    print(f"  cursor encoding matches the app's: {pre['cursor_encoding_matches']}")
    for op in ops:
        check = sql_check(pre["traces"][op.key])
        print(
            f"  {op.key:<11} app {len(pre['traces'][op.key]['app']['statements'])} statements"
            f" (+{len(pre['traces'][op.key]['app']['after_response'] or [])} after the answer),"
            f" raw {len(pre['traces'][op.key]['raw']['statements'])}; same text"
            f" {check['same_text']}, same JSON {pre['documents'][op.key]['same']}",
            flush=True,
        )
    print("database: the list statement alone", flush=True)
    database = await database_timings(url, data)
    for label, value in database["median_ms"].items():
        print(f"  {label:<28} {value:9.2f} ms")
    env = server_env(config, url, data_dir)
    ports = {name: free_port() for name in SERVERS}
    commands = {
        "app": uvicorn_command("kerops.main:create_app", ports["app"], config.workers),
        "raw": uvicorn_command("raw_app:tickets_app_factory", ports["raw"], config.workers),
    }
    with (
        serve("app", commands["app"], env, ports["app"]) as app_server,
        serve("raw", commands["raw"], env, ports["raw"]) as raw_server,
    ):
        bases = {"app": app_server[0], "raw": raw_server[0]}
        servers = Servers(
            bases=bases,
            groups={"app": app_server[1], "raw": raw_server[1]},
            sources={
                (name, op.key): _source(bases[name], op, pre["token"])
                for name in SERVERS
                for op in ops
            },
        )
        print("warm-up and calibration", flush=True)
        rates = await calibrate(config, url, servers, ops, data, since)
        print(f"offered rates: {rates}", flush=True)
        reports = await measure(config, url, servers, ops, rates, data, since)
        together = await measure_pages_together(config, servers, ops, rates, pre["token"])
    summaries = {r.operation.key: summarise(r) for r in reports}
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "dataset": {
            "rows": data.rows,
            "client_tickets": data.client_tickets,
            "client_status_tickets": data.client_status_tickets,
            "client_locales": data.client_locales,
            "open_pool": len(data.open_ids),
            "fill": data.fill,
        },
        "config": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(config).items()},
            "commands": {k: " ".join(v[2:]) for k, v in commands.items()},
            "deep_page": DEEP_PAGE,
            "page_size": PAGE_SIZE,
        },
        "operations": {
            r.operation.key: {
                "label": r.operation.label,
                "offered_rps": r.offered_rps,
                "summary": summaries[r.operation.key],
                "runs": [{n: dict(vars(w)) for n, w in run.items()} for run in r.runs],
                "trace": pre["traces"][r.operation.key],
                "sql_check": sql_check(pre["traces"][r.operation.key]),
                "documents": pre["documents"][r.operation.key],
            }
            for r in reports
        },
        "cursor_encoding_matches": pre["cursor_encoding_matches"],
        "database": database,
        "pages_together": together,
        "targets": targets(summaries, database, together),
        "elapsed_seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    """Fill if needed, migrate to the newest schema, benchmark, write the result files."""
    config = parse_args(argv)
    os.environ["KEROPS_EMBEDDED_SCHEDULER"] = "false"  # also for the in-process app
    # Every set of connections spread evenly over the server's workers (see loadgen).
    loadgen.balance_connections(config.workers)
    started = time.perf_counter()
    url = seed.database_url(config.admin_url, config.database)
    report = seed_scale.fill(
        config.admin_url, config.database, seed_scale.ScaleSize.at(config.scale)
    )
    fill = {
        "size": asdict_or(report.size),
        "rows": report.rows,
        "phases": report.phases,
        "seconds": report.seconds,
    }
    added = bring_schema_up(url)  # the schema may have moved on since the fill
    if added:
        print(f"schema brought up to the models: {', '.join(added)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kerops-bench-") as data_dir:
        result = uvloop.run(bench(config, url, data_dir, fill))
    result["elapsed_seconds"] = time.perf_counter() - started
    config.out.mkdir(parents=True, exist_ok=True)
    stem = config.out / f"{result['date']}-tickets-scale"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    stem.with_suffix(".md").write_text(render_markdown(result))
    print()
    print("\n".join(results_table(result)))
    print()
    for t in result["targets"]:
        print(f"  {'met ' if t['met'] else 'MISS'} {t['target']}: {t['measured']}")
    print(f"\nwritten: {stem}.md, {stem}.json ({result['elapsed_seconds'] / 60:.1f} min)")
    return 0


def asdict_or(size: Any) -> dict[str, Any]:
    """A dataclass as a dict."""
    from dataclasses import asdict

    return asdict(size)


if __name__ == "__main__":
    sys.exit(main())
