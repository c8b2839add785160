"""What the second wall costs: the ticket requests with and without row-level security, measured
in the same run on the database filled by ``bench/seed_scale.py``.

Two apps run in one process, side by side, and take turns request by request (so the load of a
shared machine falls on both alike), each request sent alone straight to the ASGI app
(``cpu_per_request.AsgiClient``):

- **rls**: as in production: the app connects as a role that owns nothing (the policies of
  migration 0016 apply to every statement) and sets its caller's scope on its connections
  (``kerops.core.row_scope``);
- **off**: the app connects as the tables' owner (a superuser: policies bypassed), with the scope
  plumbing taken out (``row_scope.uninstall``, ``StatementRunner.scoped = False``).

Per operation and app: the median wall time of a request (the database's share included: the
policies are evaluated by PostgreSQL), the median process CPU of a request, the statements it
sent and the scope's ``set_config`` round trips. ``--callers 2`` alternates the owners of two
clients request by request, so every request finds its connection carrying the other client's
scope unless the pool keeps a connection per scope (speed-up ``scope_affinity``);
``--pool-size 1`` leaves it none to keep (the worst case: one ``set_config`` per read); the
default is one caller. ``--http`` runs each app under uvicorn and sends the requests over HTTP.

    .venv/bin/python bench/rls_cost.py --database kerops_bench_rls [--callers 2] [--pool-size 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack, ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _src_snapshot  # noqa: F401  (first: freezes the source)
import asyncpg
import httpx
import seed
import seed_scale
import uvloop
from bench_api import free_port, group_cpu_seconds, serve, uvicorn_command
from bench_tickets import CREATE_TITLES, LIST_STATUS, PAGE_SIZE
from cpu_per_request import AsgiClient, bench_settings
from sqlalchemy import event

from kerops.config import Settings
from kerops.core import row_scope
from kerops.main import create_app

SERVICE_ROLE = "kerops_bench_service"
BENCH_DIR = str(Path(__file__).resolve().parent)
SERVICE_PASSWORD = "kerops-bench-only"


def _with_user(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    host = rest.split("@", 1)[-1]
    return f"{scheme}://{user}:{password}@{host}"


async def prepare(url: str) -> None:
    """The service role (owns nothing, no superuser) with its rights on the filled database."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "DO $$ BEGIN "
            f"CREATE ROLE {SERVICE_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS "
            f"PASSWORD '{SERVICE_PASSWORD}'; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        from kerops.core.migrate import service_grants

        for statement in service_grants(SERVICE_ROLE):
            await conn.execute(statement)
        policies = await conn.fetchval(
            "SELECT count(*) FROM pg_policies WHERE policyname = 'kerops_client_rows'"
        )
        if not policies:
            raise SystemExit("the database has no row-level security policy: migrate it first")
    finally:
        await conn.close()


async def pick(url: str, callers: int) -> dict[str, Any]:
    """The owners measured (the biggest clients) and the ids of their requests."""
    conn = await asyncpg.connect(url)
    try:
        picked = []
        for n in range(callers):
            client_id = await conn.fetchval(
                "SELECT id FROM users WHERE email = $1", seed.owner_email(n)
            )
            tickets = await conn.fetch(
                "SELECT id FROM service_tickets WHERE client_id = $1 ORDER BY id LIMIT 400",
                client_id,
            )
            targets = await conn.fetch(
                "SELECT locale_id, id FROM assets WHERE client_id = $1 ORDER BY id LIMIT 400",
                client_id,
            )
            picked.append(
                {
                    "email": seed.owner_email(n),
                    "tickets": [str(r["id"]) for r in tickets],
                    "targets": [(str(r["locale_id"]), str(r["id"])) for r in targets],
                }
            )
        return {"callers": picked}
    finally:
        await conn.close()


def _requests(op: str, caller: dict[str, Any], n: int) -> tuple[str, str, Any]:
    if op == "get":
        ids = caller["tickets"]
        return "GET", f"/api/v1/tickets/{ids[n % len(ids)]}", None
    if op == "list":
        return "GET", f"/api/v1/tickets?status={LIST_STATUS}&limit={PAGE_SIZE}", None
    locale_id, asset_id = caller["targets"][n % len(caller["targets"])]
    body = {
        "title": CREATE_TITLES[n % len(CREATE_TITLES)],
        "description": "Reportado por el encargado del local.",
        "locale_id": locale_id,
        "asset_id": asset_id,
        "priority": ("low", "medium", "medium", "high", "critical")[n % 5],
    }
    return "POST", "/api/v1/tickets", body


class Variant:
    """One app of the comparison, with what its requests cost."""

    def __init__(self, name: str, url: str, pool_size: int | None = None) -> None:
        self.name = name
        settings = bench_settings(url, "WARNING", prefix=f"kerops-rls-{name}-")
        if pool_size is not None:
            settings = settings.model_copy(update={"database_pool_size": pool_size})
        self.app = create_app(settings)
        self.state = self.app.state.kerops
        self.client = AsgiClient(self.app)
        self.statements = 0
        self.set_scope = 0
        self.with_begin = 0
        self.headers: list[dict[str, str]] = []
        db = self.state.db
        if name == "off":
            row_scope.uninstall(db.engine)
            db.reads.scoped = False
        engine = db.engine.sync_engine

        def count(*_args: Any) -> None:
            self.statements += 1

        event.listen(engine, "before_cursor_execute", count)
        if name == "rls":
            # The scope's listener, wrapped to count the scopes it sets (in a round trip of their
            # own, or carried by a transaction's BEGIN: ``with_begin``).
            row_scope.uninstall(db.engine)
            row_scope.install(db.engine)
            event.remove(engine, "before_cursor_execute", row_scope._apply)

            def counted_apply(conn: Any, *args: Any) -> None:
                before = conn.info.get(row_scope.SCOPE_KEY)
                row_scope._apply(conn, *args)
                if conn.info.get(row_scope.SCOPE_KEY) is not before:
                    self.set_scope += 1

            event.listen(engine, "before_cursor_execute", counted_apply)
        db.reads.listeners.append(self._direct)

    def _direct(self, _statement: str) -> None:
        # (A direct read's set_config is counted by the wrapped ``apply_raw`` in ``measure``.)
        self.statements += 1

    async def login(self, emails: list[str]) -> None:
        for email in emails:
            status, body = await self.client.request(
                "POST", "/api/v1/auth/login", json={"email": email, "password": seed.PASSWORD}
            )
            if status != 200:
                raise SystemExit(f"login: {status} {body[:200]!r}")
            token = json.loads(body)["access_token"]
            self.headers.append({"Authorization": f"Bearer {token}"})


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    admin = seed.database_url(args.admin_url, args.database)
    await prepare(admin)
    data = await pick(admin, args.callers)
    variants = [
        Variant("rls", _with_user(admin, SERVICE_ROLE, SERVICE_PASSWORD), args.pool_size),
        Variant("off", admin, args.pool_size),
    ]
    apply_raw = row_scope.apply_raw
    rls = variants[0]

    async def counted_apply_raw(connection: Any, info: Any) -> None:
        if row_scope.needs(info) is not None:
            rls.set_scope += 1
        await apply_raw(connection, info)

    row_scope.apply_raw = counted_apply_raw  # type: ignore[assignment]
    with_begin = row_scope._with_begin

    def counted_with_begin(adapted: Any, scope: row_scope.RowScope) -> bool:
        carried = with_begin(adapted, scope)
        rls.with_begin += carried
        return carried

    row_scope._with_begin = counted_with_begin  # type: ignore[assignment]
    results: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        for v in variants:
            await stack.enter_async_context(v.app.router.lifespan_context(v.app))
            await v.login([c["email"] for c in data["callers"]])
        for op in args.only.split(","):
            wall: dict[str, list[float]] = {v.name: [] for v in variants}
            cpu: dict[str, list[float]] = {v.name: [] for v in variants}
            counted: dict[str, tuple[int, int]] = {}
            for n in range(args.warmup + args.requests):
                if n == args.warmup:
                    for v in variants:
                        v.statements = v.set_scope = v.with_begin = 0
                who = n % len(data["callers"])
                method, path, body = _requests(op, data["callers"][who], n)
                for v in variants if n % 2 == 0 else variants[::-1]:
                    w0, c0 = time.perf_counter(), time.process_time()
                    status, answer = await v.client.request(
                        method, path, json=body, headers=v.headers[who]
                    )
                    w1, c1 = time.perf_counter(), time.process_time()
                    await v.state.jobs.wait_idle()
                    if status >= 400:
                        raise SystemExit(f"{v.name} {op}: {status} {answer[:300]!r}")
                    if n >= args.warmup:
                        wall[v.name].append((w1 - w0) * 1000)
                        cpu[v.name].append((c1 - c0) * 1000)
            for v in variants:
                counted[v.name] = (v.statements, v.set_scope - v.with_begin, v.with_begin)
            results[op] = {
                v.name: {
                    "wall_ms": statistics.median(wall[v.name]),
                    "cpu_ms": statistics.median(cpu[v.name]),
                    "wall_p90_ms": statistics.quantiles(wall[v.name], n=10)[-1],
                    "statements": counted[v.name][0] / args.requests,
                    "set_scope": counted[v.name][1] / args.requests,
                    "with_begin": counted[v.name][2] / args.requests,
                    "pooled": v.state.db.engine.pool.checkedin(),
                }
                for v in variants
            }
    return results


async def measure_http(args: argparse.Namespace) -> dict[str, Any]:
    """The same requests over HTTP: each app under uvicorn (``bench_api.uvicorn_command``, one
    worker each, so one pool each), one keep-alive connection per app, taking turns request by
    request. Wall time as the client sees it, and each server's CPU per request."""
    admin = seed.database_url(args.admin_url, args.database)
    await prepare(admin)
    data = await pick(admin, args.callers)
    urls = {
        "rls": _with_user(admin, SERVICE_ROLE, SERVICE_PASSWORD),
        "off": admin,
    }
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        bases: dict[str, str] = {}
        groups: dict[str, int] = {}
        for name, url in urls.items():
            env = dict(os.environ)
            env.update(
                KEROPS_DATABASE_URL=url,
                KEROPS_SECRET_KEY=seed.SECRET_KEY,
                KEROPS_DATA_DIR=tempfile.mkdtemp(prefix=f"kerops-rls-http-{name}-"),
                KEROPS_ENVIRONMENT="production",
                KEROPS_LOG_LEVEL="WARNING",
                KEROPS_ACCESS_TOKEN_MINUTES="600",
                KEROPS_EMBEDDED_SCHEDULER="false",
                KEROPS_DATABASE_POOL_SIZE=str(args.pool_size or 20),
                PYTHONPATH=os.pathsep.join(p for p in (BENCH_DIR, env.get("PYTHONPATH")) if p),
            )
            port = free_port()
            base, group = stack.enter_context(
                serve(
                    name,
                    uvicorn_command(f"rls_apps:{name}_app", port, 1),
                    env,
                    port,
                    start_timeout=180,  # (a loaded machine)
                )
            )
            bases[name], groups[name] = base, group
        async with AsyncExitStack() as clients:
            http = {
                name: await clients.enter_async_context(
                    httpx.AsyncClient(base_url=base, timeout=60)
                )
                for name, base in bases.items()
            }
            headers: dict[str, list[dict[str, str]]] = {}
            for name, client in http.items():
                headers[name] = []
                for caller in data["callers"]:
                    login = await client.post(
                        "/api/v1/auth/login",
                        json={"email": caller["email"], "password": seed.PASSWORD},
                    )
                    login.raise_for_status()
                    token = login.json()["access_token"]
                    headers[name].append({"Authorization": f"Bearer {token}"})
            names = list(http)
            for op in args.only.split(","):
                wall: dict[str, list[float]] = {name: [] for name in names}
                cpu: dict[str, float] = dict.fromkeys(names, 0.0)
                for n in range(args.warmup + args.requests):
                    who = n % len(data["callers"])
                    method, path, body = _requests(op, data["callers"][who], n)
                    for name in names if n % 2 == 0 else names[::-1]:
                        c0 = group_cpu_seconds(groups[name])
                        w0 = time.perf_counter()
                        answer = await http[name].request(
                            method, path, json=body, headers=headers[name][who]
                        )
                        w1 = time.perf_counter()
                        if answer.status_code >= 400:
                            raise SystemExit(f"{name} {op}: {answer.status_code} {answer.text}")
                        if n >= args.warmup:
                            wall[name].append((w1 - w0) * 1000)
                            cpu[name] += group_cpu_seconds(groups[name]) - c0
                results[op] = {
                    name: {
                        "wall_ms": statistics.median(wall[name]),
                        "wall_p90_ms": statistics.quantiles(wall[name], n=10)[-1],
                        # (From /proc, in clock ticks: a mean over the requests, jobs included.)
                        "cpu_ms": cpu[name] * 1000 / args.requests,
                    }
                    for name in names
                }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=seed_scale.DEFAULT_DATABASE)
    parser.add_argument("--admin-url", default=seed.DEFAULT_ADMIN_URL)
    parser.add_argument("--only", default="get,list,create")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--callers", type=int, default=1, choices=(1, 2))
    parser.add_argument("--http", action="store_true", help="over HTTP, each app under uvicorn")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=None,
        help="connections per app (default: the app's); 1 leaves no idle connection to prefer",
    )
    args = parser.parse_args(argv)
    if args.http:
        return print_http(args, uvloop.run(measure_http(args)))
    results = uvloop.run(measure(args))
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.requests} requests per operation and "
        f"app, taking turns, {args.callers} caller(s), pool size {args.pool_size or 'default'}, "
        f"speed-ups off: {','.join(sorted(Settings().speedups_off)) or 'none'}"
    )
    print(
        "| operation | wall ms, median (off → rls) | wall cost | p90 (off → rls) "
        "| CPU ms, median (off → rls) | CPU cost | statements | set_config round trips per "
        "request | scopes carried by BEGIN per request | pooled connections (rls) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for op, by in results.items():
        off, rls = by["off"], by["rls"]
        print(
            f"| {op} | {off['wall_ms']:.2f} → {rls['wall_ms']:.2f} "
            f"| {rls['wall_ms'] / off['wall_ms'] - 1:+.1%} "
            f"| {off['wall_p90_ms']:.2f} → {rls['wall_p90_ms']:.2f} "
            f"| {off['cpu_ms']:.2f} → {rls['cpu_ms']:.2f} "
            f"| {rls['cpu_ms'] / off['cpu_ms'] - 1:+.1%} "
            f"| {off['statements']:.1f} → {rls['statements']:.1f} | {rls['set_scope']:.2f} "
            f"| {rls['with_begin']:.2f} | {rls['pooled']} |"
        )
    print(json.dumps(results))
    return 0


def print_http(args: argparse.Namespace, results: dict[str, Any]) -> int:
    """The table of an ``--http`` run."""
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, over HTTP (uvicorn, 1 worker per app), "
        f"{args.requests} requests per operation and app, taking turns, {args.callers} "
        f"caller(s), pool size {args.pool_size or 'default'}, load average {_load()}"
    )
    print(
        "| operation | wall ms, median (off → rls) | wall cost | p90 (off → rls) "
        "| server CPU ms per request, mean (off → rls) | CPU cost |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for op, by in results.items():
        off, rls = by["off"], by["rls"]
        print(
            f"| {op} | {off['wall_ms']:.2f} → {rls['wall_ms']:.2f} "
            f"| {rls['wall_ms'] / off['wall_ms'] - 1:+.1%} "
            f"| {off['wall_p90_ms']:.2f} → {rls['wall_p90_ms']:.2f} "
            f"| {off['cpu_ms']:.2f} → {rls['cpu_ms']:.2f} "
            f"| {rls['cpu_ms'] / off['cpu_ms'] - 1:+.1%} |"
        )
    print(json.dumps(results))
    return 0


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    sys.exit(main())
