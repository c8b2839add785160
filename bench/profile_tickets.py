"""Where one app worker spends its CPU on the tickets operations: a sampling profile per operation.

The app runs under uvicorn with ONE worker (same set-up as ``bench_tickets.py`` otherwise) on the
scale database; each operation is sent in a closed loop while ``py-spy`` samples the worker (not
installed by the project: ``.venv/bin/pip install py-spy``). Idle samples (the worker waiting for
PostgreSQL or the network) are left out, so shares are shares of the worker's CPU time.

Per operation the script prints and writes (``bench/results/<date>-tickets-profile.md``):

- the share of samples whose innermost Python frame lies in each package (self time by layer);
- the share of samples that pass through given functions (inclusive: dependency injection, the
  ORM's statement execution, the audit hook, response validation and serialisation, logging);
- the functions with the most self time.

Usage::

    .venv/bin/python bench/profile_tickets.py [--seconds 15] [--only get,create]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _src_snapshot  # noqa: F401  (first: freezes the source)
import bench_tickets
import loadgen
import seed
import seed_scale
import uvloop
from bench_api import RESULTS_DIR, free_port, serve, uvicorn_command

#: Innermost frame's file → layer (first match wins).
LAYERS = (
    ("kerops/operations/diagnosis", "kerops diagnosis (queued job)"),
    ("kerops/notifications", "kerops notifications (queued job)"),
    ("kerops/core/events", "kerops events outbox"),
    ("kerops/core/jobs", "kerops job runner"),
    ("kerops/core/audit", "kerops audit hook"),
    ("kerops/", "kerops (handlers, access, deps)"),
    ("sqlalchemy/orm", "SQLAlchemy ORM"),
    ("sqlalchemy/", "SQLAlchemy core/engine"),
    ("asyncpg/", "asyncpg"),
    ("pydantic", "Pydantic"),
    ("fastapi/", "FastAPI (routing, DI, encoders)"),
    ("starlette/", "Starlette"),
    ("uvicorn/", "uvicorn"),
    ("structlog/", "logging"),
    ("logging/", "logging"),
    ("json/", "json"),
    ("greenlet", "greenlet"),
    ("asyncio/", "asyncio"),
    ("uuid", "uuid"),
)
#: Frames counted inclusively: (label, substring of the frame).
MARKERS = (
    ("queued jobs run in the worker (kerops/core/jobs.py)", "kerops/core/jobs.py"),
    ("  of which the diagnosis job", "kerops/operations/diagnosis"),
    ("request handling (the FastAPI app)", "fastapi/applications.py"),
    ("FastAPI dependency solving (solve_dependencies)", "solve_dependencies"),
    ("request body parsing/validation", "request_body_to_args"),
    ("response validation + serialisation (serialize_response)", "serialize_response"),
    ("JSON rendering of the response (render)", "render ("),
    ("authentication (get_optional_principal)", "get_optional_principal"),
    ("SQLAlchemy session.execute", "execute (sqlalchemy/ext/asyncio/session.py"),
    ("SQLAlchemy flush (unit of work)", "flush (sqlalchemy/orm/session.py"),
    ("audit rows (after_flush hook)", "_write_audit_rows"),
    ("commit", "commit ("),
    ("statement compilation (SQLAlchemy compile)", "_compiler ("),
    ("ORM row loading (loading.instances)", "instances (sqlalchemy/orm/loading.py"),
    ("asyncpg _prepare_and_execute", "_prepare_and_execute"),
    ("access log / structlog", "structlog"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=seed.DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default=seed_scale.DEFAULT_DATABASE)
    parser.add_argument("--seconds", type=float, default=15.0, help="sampling per operation")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--only", default="", help="comma-separated operation keys")
    parser.add_argument("--app-log-level", default="INFO")
    parser.add_argument(
        "--settle", type=float, default=6.0, help="wait for a write's jobs before/after it (s)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def worker_pid(group: int) -> int:
    """The uvicorn worker of a one-worker server (the child of the supervisor)."""
    children = Path(f"/proc/{group}/task/{group}/children").read_text().split()
    if not children:
        return group  # a single process serves
    return int(children[0])


def parse_folded(path: Path) -> list[tuple[list[str], int]]:
    """``frame;frame;… count`` lines of py-spy's raw output."""
    stacks = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        frames, _, count = line.rpartition(" ")
        if not count.isdigit():  # a frame name broken over lines
            continue
        stacks.append((frames.split(";"), int(count)))
    return stacks


def layer_of(frame: str) -> str:
    """The layer of a frame, by its file."""
    for needle, label in LAYERS:
        if needle in frame:
            return label
    return "other"


def analyse(stacks: list[tuple[list[str], int]]) -> dict[str, Any]:
    """Self time per layer, inclusive time of the markers, top self functions."""
    total = sum(count for _, count in stacks) or 1
    layers: collections.Counter[str] = collections.Counter()
    selfs: collections.Counter[str] = collections.Counter()
    markers: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        leaf = frames[-1]
        layers[layer_of(leaf)] += count
        selfs[leaf] += count
        joined = ";".join(frames)
        for label, needle in MARKERS:
            if needle in joined:
                markers[label] += count
    return {
        "samples": total,
        "layers": {k: v / total for k, v in layers.most_common()},
        "markers": {label: markers[label] / total for label, _ in MARKERS},
        "top_self": [(frame, count / total) for frame, count in selfs.most_common(15)],
    }


async def load(source: loadgen.RequestCycle, seconds: float, connections: int) -> float:
    """Closed-loop load; returns the answers per second."""
    result = await loadgen.closed_loop(source, connections=connections, duration=seconds)
    return result.achieved_rps


def main(argv: list[str] | None = None) -> int:
    """Profile each operation on one worker; print and write the findings."""
    args = parse_args(argv)
    os.environ["KEROPS_EMBEDDED_SCHEDULER"] = "false"
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    url = seed.database_url(args.admin_url, args.database)
    marker = asyncio.run(seed_scale.is_filled(args.admin_url, args.database))
    if marker is None:
        raise SystemExit(f"{args.database} is not filled: run bench/seed_scale.py first")
    bench_tickets.bring_schema_up(url)
    since = datetime.now(UTC)
    data = uvloop.run(bench_tickets.pick_dataset(url, marker))
    ops = bench_tickets.operations(data)
    if args.only:
        ops = [op for op in ops if op.key in set(args.only.split(","))]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kerops-bench-") as data_dir:
        # Statements per request, each write given time for the jobs it queues to finish.
        traced = uvloop.run(bench_tickets.preflight(url, data_dir, data, ops, settle=args.settle))
        for op in ops:
            if op.resets:
                uvloop.run(bench_tickets.reset_transitions(url, data.open_ids, since))
        traces = {key: trace["app"] for key, trace in traced["traces"].items()}
        print_traces(traces)
        token = uvloop.run(bench_tickets.sign_in(url, data_dir))
        config = argparse.Namespace(app_log_level=args.app_log_level)
        env = bench_tickets.server_env(config, url, data_dir)  # type: ignore[arg-type]
        port = free_port()
        command = uvicorn_command("kerops.main:create_app", port, 1)
        with serve("app", command, env, port) as (base, group):
            pid = worker_pid(group)
            for op in ops:
                source = bench_tickets._source(base, op, token)
                uvloop.run(load(source, 1.0, args.connections))  # warm
                if op.resets:
                    uvloop.run(bench_tickets.reset_transitions(url, data.open_ids, since))
                out = Path(data_dir) / f"{op.key}.txt"
                spy_cmd = [spy, "record", "--pid", str(pid), "--rate", str(args.rate)]
                spy_cmd += ["--duration", str(int(args.seconds)), "--format", "raw"]
                spy_cmd += ["--output", str(out), "--nonblocking"]
                recorder = subprocess.Popen(
                    spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                time.sleep(0.5)
                rps = uvloop.run(load(source, args.seconds - 1, args.connections))
                _, err = recorder.communicate(timeout=args.seconds + 30)
                if op.resets:
                    uvloop.run(bench_tickets.reset_transitions(url, data.open_ids, since))
                if not out.exists():
                    raise SystemExit(f"py-spy wrote nothing: {err.decode()[-2000:]}")
                found = analyse(parse_folded(out))
                found["rps_one_worker"] = rps
                found["trace"] = traces.get(op.key, {})
                results[op.key] = found
                print_operation(op.label, found)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.now(UTC):%Y-%m-%d}-tickets-profile.md"
    path.write_text(render(results, {op.key: op.label for op in ops}, args))
    print(f"\nwritten: {path}")
    return 0


def _kind(sql: str) -> str:
    """``SELECT service_tickets``, ``INSERT audit_logs``, ``BEGIN``…: a statement in short."""
    words = sql.replace("\n", " ").split()
    if not words:
        return "?"
    verb = words[0].upper().rstrip(";")
    table = ""
    for key in ("FROM", "INTO", "UPDATE"):
        upper = [w.upper() for w in words]
        if key in upper[: 200 if key != "UPDATE" else 1]:
            i = upper.index(key)
            table = words[i + 1] if i + 1 < len(words) else ""
            break
    return f"{verb} {table}".strip()


def summarise_trace(trace: dict[str, Any]) -> dict[str, Any]:
    """Statements by kind, in the request and in the jobs it queued."""
    own = collections.Counter(_kind(s) for s in trace.get("statements", []))
    later = collections.Counter(_kind(s) for s in trace.get("after_response", []))
    return {
        "in_request": len(trace.get("statements", [])),
        "round_trips": trace.get("round_trips", 0),
        "after_response": len(trace.get("after_response", [])),
        "round_trips_after_response": trace.get("round_trips_after_response", 0),
        "in_request_kinds": dict(own.most_common()),
        "after_response_kinds": dict(later.most_common()),
    }


def print_traces(traces: dict[str, Any]) -> None:
    """Statements per request on the terminal."""
    for key, trace in traces.items():
        s = summarise_trace(trace)
        print(
            f"{key}: {s['in_request']} statements / {s['round_trips']} round trips in the request,"
            f" {s['after_response']} / {s['round_trips_after_response']} after the answer"
        )
        print(f"  in the request: {s['in_request_kinds']}")
        if s["after_response"]:
            print(f"  after the answer (queued jobs): {s['after_response_kinds']}")


def print_operation(label: str, found: dict[str, Any]) -> None:
    """One operation's findings on the terminal."""
    print(f"\n{label}: {found['rps_one_worker']:.0f} rps on one worker, {found['samples']} samples")
    for name, share in found["layers"].items():
        print(f"  self  {share:6.1%}  {name}")
    for name, share in found["markers"].items():
        print(f"  incl  {share:6.1%}  {name}")


def render(results: dict[str, Any], labels: dict[str, str], args: argparse.Namespace) -> str:
    """The result file."""
    out = [
        f"# Tickets: where one app worker's CPU goes, {datetime.now(UTC):%Y-%m-%d}",
        "",
        f"`bench/profile_tickets.py`: one uvicorn worker on `{args.database}`, closed loop of"
        f" {args.connections} connections, py-spy at {args.rate} Hz for {args.seconds:.0f} s per"
        " operation, idle samples left out (shares of the worker's CPU time).",
        "",
    ]
    for key, found in results.items():
        out += [
            f"## {labels[key]}",
            "",
            f"{found['rps_one_worker']:.0f} rps on one worker; {found['samples']:,} samples.",
            "",
            "| self time by layer (innermost frame) | share |",
            "| --- | ---: |",
        ]
        out += [f"| {name} | {share:.1%} |" for name, share in found["layers"].items()]
        out += ["", "| through (inclusive) | share |", "| --- | ---: |"]
        out += [f"| {name} | {share:.1%} |" for name, share in found["markers"].items()]
        out += ["", "| top self frames | share |", "| --- | ---: |"]
        out += [f"| `{frame}` | {share:.1%} |" for frame, share in found["top_self"]]
        if found.get("trace"):
            s = summarise_trace(found["trace"])
            out += [
                "",
                f"Statements: {s['in_request']} in the request ({s['round_trips']} round trips):"
                f" {', '.join(f'{k} x{v}' for k, v in s['in_request_kinds'].items())}.",
            ]
            if s["after_response"]:
                out.append(
                    f"After the answer, from the jobs it queued: {s['after_response']} statements"
                    f" ({s['round_trips_after_response']} round trips):"
                    f" {', '.join(f'{k} x{v}' for k, v in s['after_response_kinds'].items())}."
                )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
