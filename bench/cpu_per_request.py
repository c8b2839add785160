"""CPU per request of the ticket operations, in-process, on the scale database.

The app runs as a bare ASGI callable (no HTTP server, no load generator, no other process on the
clock): each request is sent alone, then the jobs it queued run to the end, and the process CPU
time (user + system) of both parts is recorded, with the statements each part sent. This is the
steadiest figure on a busy machine and says where a write's time goes: the request itself, or
the work its jobs do afterwards (event dispatch, notifications, e-mails, diagnosis).

    .venv/bin/python bench/cpu_per_request.py                 # 200 requests per operation
    .venv/bin/python bench/cpu_per_request.py --only create,transition --requests 300

Transitions move the client's ``open`` tickets to ``assigned``; they are put back afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json as json_module
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import _src_snapshot  # noqa: F401  (first: freezes the source)
import seed
import seed_scale
import uvloop
from bench_tickets import operations, pick_dataset, reset_transitions
from sqlalchemy import event

from kerops.config import Settings
from kerops.core.jobs import current_job
from kerops.main import create_app


def _package(filename: str) -> str:
    """Where a profiled function lives: a package (SQLAlchemy split by layer), or a module of
    the app."""
    if "site-packages/" in filename:
        parts = filename.split("site-packages/", 1)[1].split("/")
        if parts[0] == "sqlalchemy" and len(parts) > 2:
            return f"sqlalchemy.{parts[1]}"
        return parts[0].removesuffix(".py")
    if "/kerops/" in filename:
        parts = filename.split("/kerops/", 1)[1].split("/")
        return "kerops." + ".".join(p.removesuffix(".py") for p in parts[:2])
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    return filename.rsplit("/", 1)[-1].removesuffix(".py")


class AsgiClient:
    """Sends one HTTP request straight to the ASGI app, with the scope uvicorn would build (no
    HTTP client library in the profile: the calls counted are the server's own)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        body = b"" if json is None else json_module.dumps(json).encode()
        raw_headers = [(b"host", b"app"), (b"user-agent", b"bench")]
        if json is not None:
            raw_headers.append((b"content-type", b"application/json"))
            raw_headers.append((b"content-length", str(len(body)).encode()))
        for key, value in (headers or {}).items():
            raw_headers.append((key.lower().encode(), value.encode()))
        target, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": target,
            "raw_path": target.encode(),
            "query_string": query.encode(),
            "headers": raw_headers,
            "state": {},
        }
        sent_body = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client stays connected
            raise AssertionError  # pragma: no cover

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def bench_settings(url: str, log_level: str, *, prefix: str) -> Settings:
    """The in-process app's settings: production, a fresh data folder, no scheduler."""
    return Settings(
        database_url=url,
        data_dir=tempfile.mkdtemp(prefix=prefix),
        secret_key=seed.SECRET_KEY,
        environment="production",
        log_level=log_level,
        access_token_minutes=600,
        embedded_scheduler=False,
    )


async def owner_headers(client: AsgiClient) -> dict[str, str]:
    """Sign in as the measured client's owner; the request headers that carry the token."""
    status, login = await client.request(
        "POST",
        "/api/v1/auth/login",
        json={"email": seed.owner_email(0), "password": seed.PASSWORD},
    )
    if status != 200:
        raise SystemExit(f"login: {status} {login[:300]!r}")
    return {"Authorization": f"Bearer {json_module.loads(login)['access_token']}"}


def _statement_kind(sql: str) -> str:
    words = sql.split()
    if not words:
        return "?"
    verb = words[0].upper()
    if verb in ("SELECT", "DELETE") and "FROM" in (w.upper() for w in words):
        upper = [w.upper() for w in words]
        return f"{verb} {words[upper.index('FROM') + 1]}"
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    return verb


async def measure(args: argparse.Namespace) -> None:
    url = seed.database_url(args.admin_url, args.database)
    data = await pick_dataset(url, {})
    app = create_app(bench_settings(url, args.log_level, prefix="kerops-cpu-"))
    state = app.state.kerops
    sent: Counter[tuple[str, str]] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        # Classified when printed: only a counter update in the measured requests.
        sent[("job" if current_job.get() else "request", statement)] += 1

    ran: Counter[str] = Counter()
    job_ms: dict[str, list[float]] = {}
    run_job = state.jobs.run
    one_at_a_time = asyncio.Lock()

    async def counted_run(name: str, **kwargs: Any) -> None:
        ran[name] += 1
        # One job at a time, so the process CPU around it is its own.
        async with one_at_a_time:
            t0 = time.process_time()
            await run_job(name, **kwargs)
            job_ms.setdefault(name, []).append((time.process_time() - t0) * 1000)

    state.jobs.run = counted_run  # the broker's tasks call the engine's run by name
    started = datetime.now(UTC)
    client = AsgiClient(app)
    async with app.router.lifespan_context(app):
        # The read engine is the same engine with other options: it shares these events.
        event.listen(state.db.engine.sync_engine, "before_cursor_execute", count)
        # Read-only routes send theirs straight to the driver (kerops.core.reads).
        state.db.reads.listeners.append(lambda statement: count(None, None, statement))
        headers = await owner_headers(client)
        wanted = set(args.only.split(",")) if args.only else None
        for op in operations(data):
            if wanted is not None and op.key not in wanted:
                continue
            requests = op.requests
            # Timed by CPU, not the wall clock: a coroutine waiting for the database (or for
            # another task) is otherwise charged with that wait, and the event loop's own
            # frame with every idle moment.
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            ran.clear()
            job_ms.clear()
            request_cpu: list[float] = []
            job_cpu: list[float] = []
            for n in range(args.warmup + args.requests):
                path, body = requests[n % len(requests)]
                sent.clear()
                if profiler is not None and n == args.warmup:
                    profiler.enable()
                t0 = time.process_time()
                status, answer = await client.request(op.method, path, json=body, headers=headers)
                t1 = time.process_time()
                await state.jobs.wait_idle()
                t2 = time.process_time()
                if status >= 400:
                    raise SystemExit(f"{op.key}: {status} {answer[:300]!r}")
                if n >= args.warmup:
                    request_cpu.append((t1 - t0) * 1000)
                    job_cpu.append((t2 - t1) * 1000)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(f"/tmp/prof-{op.key}.out")
                stats = pstats.Stats(profiler, stream=sys.stdout)
                if args.profile_lines:
                    stats.sort_stats(args.profile).print_stats(args.profile_lines)
                calls = stats.total_calls / args.requests  # type: ignore[attr-defined]
                by_package: Counter[str] = Counter()
                seconds: Counter[str] = Counter()
                for (filename, _, _), (_, ncalls, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
                    package = _package(filename)
                    by_package[package] += ncalls
                    seconds[package] += tottime
                total_seconds = sum(seconds.values()) or 1.0
                for package, n in by_package.most_common(14):
                    share = seconds[package] / total_seconds
                    per_request = n / args.requests
                    print(f"    {package:<28} {per_request:8,.0f} calls  {share:6.1%} self time")
            req = statistics.median(request_cpu)
            jobs = statistics.median(job_cpu)
            print(f"{op.label}")
            total_ms = req + jobs
            print(f"  request {req:6.2f} ms CPU   jobs {jobs:6.2f} ms CPU   total {total_ms:6.2f}")
            if profiler is not None:
                print(f"  Python function calls per request (request and jobs): {calls:,.0f}")
            total = args.warmup + args.requests
            if ran:
                listed = ", ".join(f"{k} x{v / total:.2f}" for k, v in sorted(ran.items()))
                print(f"  jobs per request: {listed}")
                each = ", ".join(
                    f"{k} {statistics.median(v):.2f}" for k, v in sorted(job_ms.items())
                )
                print(f"  CPU ms per job run (median): {each}")
            for part in ("request", "job"):
                by_kind: Counter[str] = Counter()
                for (p, statement), n in sent.items():
                    if p == part:
                        by_kind[_statement_kind(statement)] += n
                kinds = dict(sorted(by_kind.items()))
                if kinds:
                    listed = ", ".join(f"{k} x{v}" for k, v in kinds.items())
                    print(f"  {part} statements ({sum(kinds.values())}): {listed}")
            if op.resets:
                await reset_transitions(url, data.open_ids, started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=seed_scale.DEFAULT_DATABASE)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", default="", help="comma-separated operation keys")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--profile", default="", help="print a cProfile of each operation sorted by this key"
    )
    parser.add_argument("--profile-lines", type=int, default=40)
    args = parser.parse_args(argv)
    uvloop.run(measure(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
