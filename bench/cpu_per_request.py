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
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import _src_snapshot  # noqa: F401  (first: freezes the source)
import httpx
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
    settings = Settings(
        database_url=url,
        data_dir=tempfile.mkdtemp(prefix="kerops-cpu-"),
        secret_key=seed.SECRET_KEY,
        environment="production",
        log_level=args.log_level,
        access_token_minutes=600,
        embedded_scheduler=False,
    )
    app = create_app(settings)
    state = app.state.kerops
    sent: Counter[tuple[str, str]] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        sent[("job" if current_job.get() else "request", _statement_kind(statement))] += 1

    ran: Counter[str] = Counter()
    run_job = state.jobs.run

    async def counted_run(name: str, **kwargs: Any) -> None:
        ran[name] += 1
        await run_job(name, **kwargs)

    state.jobs.run = counted_run  # the broker's tasks call the engine's run by name
    started = datetime.now(UTC)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client,
    ):
        # The read engine is the same engine with other options: it shares these events.
        event.listen(state.db.engine.sync_engine, "before_cursor_execute", count)
        login = await client.post(
            "/api/v1/auth/login", json={"email": seed.owner_email(0), "password": seed.PASSWORD}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        wanted = set(args.only.split(",")) if args.only else None
        for op in operations(data):
            if wanted is not None and op.key not in wanted:
                continue
            requests = op.requests
            profiler = cProfile.Profile() if args.profile else None
            ran.clear()
            request_cpu: list[float] = []
            job_cpu: list[float] = []
            for n in range(args.warmup + args.requests):
                path, body = requests[n % len(requests)]
                sent.clear()
                if profiler is not None and n == args.warmup:
                    profiler.enable()
                t0 = time.process_time()
                response = await client.request(op.method, path, json=body, headers=headers)
                t1 = time.process_time()
                await state.jobs.wait_idle()
                t2 = time.process_time()
                if response.status_code >= 400:
                    raise SystemExit(f"{op.key}: {response.status_code} {response.text[:300]}")
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
            for part in ("request", "job"):
                kinds = {k: v for (p, k), v in sorted(sent.items()) if p == part}
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
