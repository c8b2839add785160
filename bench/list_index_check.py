"""What an index matching the tickets list's default sort would change, on the scale database.

The tickets list sorts by ``created_at DESC, id DESC`` by default, and no index of
``service_tickets`` starts with the client and ends with that order: a page reads and sorts every
ticket of the client that passes the filters, at any depth. This script times the list statement
alone (as ``bench_tickets.py`` does) without and then with candidate indexes, created on the
benchmark database only and dropped again at the end (the migrations are not touched).

Usage::

    .venv/bin/python bench/list_index_check.py [--database kerops_bench_scale] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import _src_snapshot  # noqa: F401  (first: freezes the source)
import asyncpg
import bench_tickets
import seed
import seed_scale

CANDIDATES = {
    "ix_bench_service_tickets_client_status_created": (
        "service_tickets (client_id, status, created_at DESC, id DESC)"
    ),
    "ix_bench_service_tickets_client_locale_created": (
        "service_tickets (client_id, locale_id, created_at DESC, id DESC)"
    ),
}


async def run(url: str, marker: dict[str, object], keep: bool) -> dict[str, dict[str, float]]:
    """Timings before and after the candidate indexes."""
    data = await bench_tickets.pick_dataset(url, marker)
    before = await bench_tickets.database_timings(url, data, budget=3.0)
    conn = await asyncpg.connect(url)
    built: dict[str, float] = {}
    try:
        for name, definition in CANDIDATES.items():
            started = time.perf_counter()
            await conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
            built[name] = time.perf_counter() - started
        await conn.execute("ANALYZE service_tickets")
        after = await bench_tickets.database_timings(url, data, budget=3.0)
        sizes = {
            name: await conn.fetchval("SELECT pg_relation_size($1::regclass)", name)
            for name in CANDIDATES
        }
    finally:
        if not keep:
            for name in CANDIDATES:
                await conn.execute(f"DROP INDEX IF EXISTS {name}")
        await conn.close()
    print("| case | without (ms) | with the indexes (ms) |")
    print("| --- | ---: | ---: |")
    for label, value in before["median_ms"].items():
        print(f"| {label} | {value:.2f} | {after['median_ms'].get(label, float('nan')):.2f} |")
    for name, seconds in built.items():
        print(f"built {name} in {seconds:.1f} s, {sizes[name] / 2**20:.0f} MiB")
    for label, plan in after["plans"].items():
        print(f"\n{label}:\n  " + "\n  ".join(plan[:8]))
    return {"before": before["median_ms"], "after": after["median_ms"]}


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=seed.DEFAULT_ADMIN_URL)
    parser.add_argument("--database", default=seed_scale.DEFAULT_DATABASE)
    parser.add_argument("--keep", action="store_true", help="leave the indexes in place")
    args = parser.parse_args(argv)
    marker = asyncio.run(seed_scale.is_filled(args.admin_url, args.database))
    if marker is None:
        raise SystemExit(f"{args.database} is not filled: run bench/seed_scale.py first")
    asyncio.run(run(seed.database_url(args.admin_url, args.database), marker, args.keep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
