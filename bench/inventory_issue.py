"""Concurrent issues of stock through the app's ledger, beside a raw-asyncpg reference, on a
PostgreSQL database filled at the issue's scale (not part of the test suite).

1. **Seed** (``--clients`` 50 x ``--products`` 2,000 x ``--warehouses`` 20, ``--movements``
   5,000,000 by default) straight into a dedicated database migrated to head, as the database
   superuser: clients, their owners, warehouses and products with ``generate_series``; the
   movements (receipts of random products into random warehouses of their client, time-ordered
   UUIDv7-like ids over two years) with ``INSERT … SELECT``; then every stock row as the sum of
   its movements (so the ledger adds up from the start). The database is reused when it holds
   a finished seed of the same size (``--force`` rebuilds it).
2. **Issues**: ``--connections`` (64) concurrent workers issue one unit at a time from
   ``--hot-rows`` (4) stock rows of client 0 until ``--ops`` issues are done, two ways in the
   same run, taking turns (app, raw, app, raw … ``--rounds`` times), each on its own hot rows:

   - **app**: an ``AsyncSession`` of the app's own engine (``kerops.core.db.Database``),
     connected as a role that owns nothing (row-level security applies), the client's row scope
     set as a request sets it (``row_scope.use``), one transaction per issue calling
     ``ledger.move(kind=issue, quantity=-1)``;
   - **raw**: asyncpg, the same role and scope, the same conditional UPDATE (``on_hand -
     reserved >= 1``) and movement INSERT in one transaction per issue.

   Then a drain: 200 concurrent issues through the app against a stock of 50 must leave exactly
   50 issued, 150 refused (``insufficient_stock``), ``on_hand`` 0. Afterwards: no stock row is
   negative (whole database) and ``ledger.verify`` of client 0 is clean (and the same sums in
   SQL over every client).
3. **Lists**: the keyset SQL the stock and movement lists send for client 0 (the lists' routes
   belong to another module; ``--http-lists`` calls them instead when they exist), page 1 and
   page 1,000 (``--page-size`` rows a page), median of ``--list-runs``.

``--http-ticket TICKET_ID --http-token TOKEN`` also times ``POST /api/v1/tickets/{id}/parts``
(built by the parts module; body ``{"warehouse_id", "product_id", "quantity": "1"}``) when that
route exists: in-process ASGI, as the token's caller, on a ticket of client 0 that the caller
may issue onto (the bench makes no tickets).

Usage::

    .venv/bin/python bench/inventory_issue.py [--movements 5000000] [--ops 20000] [--force]
        [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--database kerops_bench_inventory]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from kerops.config import Settings
from kerops.core import row_scope
from kerops.core.db import Database
from kerops.core.enums import MovementDocument, MovementKind
from kerops.core.errors import Conflict
from kerops.core.migrate import service_grants, upgrade
from kerops.inventory import ledger

SERVICE_ROLE = "kerops_bench_service"
SERVICE_PASSWORD = "kerops-bench-only"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"
MARKER = "bench_inventory_seed"
#: A UUIDv7-like id from a timestamp column ``ts`` (time-ordered, as the app's ids).
UUID7 = (
    "(lpad(to_hex((extract(epoch from {ts}) * 1000)::bigint), 12, '0') || '7' "
    "|| substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid"
)


def _url(admin_url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}:{SERVICE_PASSWORD}@{netloc.split('@', 1)[-1]}"
    return urlunsplit(parts._replace(path=f"/{database}", netloc=netloc))


def _settings(url: str, pool: int) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tempfile.mkdtemp(prefix="kerops-bench-inventory-"),
        secret_key=SECRET_KEY,
        environment="production",
        log_level="WARNING",
        embedded_scheduler=False,
        database_pool_size=pool,
    )


# --- seed ----------------------------------------------------------------------------------------


def _size(args: argparse.Namespace) -> str:
    return f"{args.clients}x{args.products}x{args.warehouses}x{args.movements}"


async def seed(args: argparse.Namespace) -> float:
    """Fill the database (or keep a finished fill of the same size); the seconds it took."""
    admin = await asyncpg.connect(args.admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", args.database)
        if exists and not args.force:
            conn = await asyncpg.connect(_url(args.admin_url, args.database))
            try:
                done = await conn.fetchval(
                    f"SELECT size FROM {MARKER} LIMIT 1"
                    if await conn.fetchval("SELECT to_regclass($1)", MARKER)
                    else "SELECT NULL"
                )
            finally:
                await conn.close()
            if done == _size(args):
                print(f"seed: reusing {args.database} ({done})")
                return 0.0
        await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{args.database}"')
    finally:
        await admin.close()
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, _settings(_url(args.admin_url, args.database), 5))
    conn = await asyncpg.connect(_url(args.admin_url, args.database))
    try:
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        steps = [
            (
                "clients and owners",
                f"""
                CREATE TEMP TABLE bench_clients AS
                SELECT n, gen_random_uuid() AS id FROM generate_series(0, {args.clients - 1}) n;
                INSERT INTO users (id, email, full_name, role, client_id, skills, is_active,
                                   language, timezone, created_at, updated_at)
                SELECT id, format('owner%s@stock%s.example.com', n, n), 'Bench Owner',
                       'client_owner', id, '[]', true, 'es-CL', 'America/Santiago', now(), now()
                FROM bench_clients;
                INSERT INTO clients (id, name, owner_user_id, plan, created_at, updated_at)
                SELECT id, format('Cliente %s', n), id, 'enterprise', now(), now()
                FROM bench_clients;
                """,
            ),
            (
                "warehouses",
                f"""
                INSERT INTO warehouses (id, client_id, kind, code, name, is_active,
                                        created_at, updated_at)
                SELECT gen_random_uuid(), c.id, 'central', format('W%s', lpad(w::text, 2, '0')),
                       format('Bodega %s', w), true, now(), now()
                FROM bench_clients c, generate_series(0, {args.warehouses - 1}) w;
                """,
            ),
            (
                "products",
                f"""
                INSERT INTO products (id, client_id, category, sku, name, description, unit,
                                      price_minor, cost_minor, currency, is_active, vendor_sku,
                                      lead_time_days, is_stocked, created_at, updated_at)
                SELECT gen_random_uuid(), c.id, 'spare_part',
                       format('P-%s', lpad(p::text, 5, '0')), format('Repuesto %s', p), '',
                       'unit', 2000, 1000, 'CLP', true, '', 0, true, now(), now()
                FROM bench_clients c, generate_series(0, {args.products - 1}) p;
                """,
            ),
            (
                "movements",
                f"""
                CREATE TEMP TABLE bench_w AS
                SELECT client_id, id, row_number() OVER (PARTITION BY client_id ORDER BY code) - 1
                       AS k FROM warehouses;
                CREATE TEMP TABLE bench_p AS
                SELECT client_id, id, row_number() OVER (PARTITION BY client_id ORDER BY sku) - 1
                       AS k FROM products;
                CREATE INDEX ON bench_w (client_id, k);
                CREATE INDEX ON bench_p (client_id, k);
                ANALYZE bench_w; ANALYZE bench_p;
                INSERT INTO inventory_movements (id, client_id, warehouse_id, product_id, kind,
                    quantity, unit_cost_minor, document_kind, document_id, actor_id, reason,
                    created_at)
                SELECT {UUID7.format(ts="m.ts")}, c.id, w.id, p.id, 'receipt',
                       (1 + (m.i % 20)) * 1000, 1000, 'adjustment', NULL, NULL, '', m.ts
                FROM (
                    SELECT i, (i % {args.clients}) AS cn,
                           (random() * {args.warehouses - 1})::int AS wk,
                           (random() * {args.products - 1})::int AS pk,
                           now() - interval '730 days' * (1 - i::float / {args.movements}) AS ts
                    FROM generate_series(1, {args.movements}) i
                ) m
                JOIN bench_clients c ON c.n = m.cn
                JOIN bench_w w ON w.client_id = c.id AND w.k = m.wk
                JOIN bench_p p ON p.client_id = c.id AND p.k = m.pk;
                """,
            ),
            (
                "stock rows (sums of the movements)",
                """
                INSERT INTO inventory_stock (id, client_id, warehouse_id, product_id, on_hand,
                    reserved, on_order, reorder_point, reorder_quantity, bin_location,
                    average_cost_minor, created_at, updated_at)
                SELECT gen_random_uuid(), client_id, warehouse_id, product_id, sum(quantity),
                       0, 0, 5000, 20000, '', 1000, min(created_at), max(created_at)
                FROM inventory_movements GROUP BY client_id, warehouse_id, product_id;
                """,
            ),
            ("analyze", "VACUUM ANALYZE"),
        ]
        for label, sql in steps:
            step = time.perf_counter()
            if label == "analyze":
                # Every table: a table left without statistics (warehouses) makes the planner
                # join before it sorts, and a list's first page takes a second.
                await conn.execute("VACUUM ANALYZE")
            else:
                await conn.execute(sql)
            print(f"seed: {label} {time.perf_counter() - step:.1f} s", flush=True)
        await conn.execute(f"CREATE TABLE {MARKER} (size text)")
        await conn.execute(f"INSERT INTO {MARKER} VALUES ($1)", _size(args))
        await conn.execute(
            "DO $$ BEGIN "
            f"CREATE ROLE {SERVICE_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS "
            f"PASSWORD '{SERVICE_PASSWORD}'; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        await conn.execute(f"GRANT SELECT ON {MARKER} TO {SERVICE_ROLE}")
        for statement in service_grants(SERVICE_ROLE):
            await conn.execute(statement)
    finally:
        await conn.close()
    return time.perf_counter() - started


# --- the issues ----------------------------------------------------------------------------------


async def hot_rows(args: argparse.Namespace, count: int, stock: int) -> list[tuple[Any, ...]]:
    """``count`` stock rows of client 0 brought to ``stock`` units by a receipt each (through
    SQL that keeps the ledger's sums): (client, warehouse, product)."""
    conn = await asyncpg.connect(_url(args.admin_url, args.database))
    try:
        client_id = await conn.fetchval("SELECT id FROM clients WHERE name = 'Cliente 0'")
        rows = await conn.fetch(
            "SELECT warehouse_id, product_id, on_hand FROM inventory_stock WHERE client_id = $1 "
            "AND reserved = 0 ORDER BY random() LIMIT $2",
            client_id,
            count,
        )
        picked = []
        async with conn.transaction():
            for r in rows:
                delta = stock * 1000 - r["on_hand"]
                if delta:
                    await conn.execute(
                        "INSERT INTO inventory_movements (id, client_id, warehouse_id, "
                        "product_id, kind, quantity, unit_cost_minor, document_kind, reason, "
                        "created_at) VALUES (gen_random_uuid(), $1, $2, $3, 'adjustment', $4, "
                        "1000, 'adjustment', 'bench', now())",
                        client_id,
                        r["warehouse_id"],
                        r["product_id"],
                        delta,
                    )
                    await conn.execute(
                        "UPDATE inventory_stock SET on_hand = on_hand + $3 "
                        "WHERE warehouse_id = $1 AND product_id = $2",
                        r["warehouse_id"],
                        r["product_id"],
                        delta,
                    )
                picked.append((client_id, r["warehouse_id"], r["product_id"]))
        return picked
    finally:
        await conn.close()


async def _keep_scope(_conn: asyncpg.Connection) -> None:
    """Keep the connection's settings when it goes back to the pool."""


async def _workers(connections: int, ops: int, one: Any) -> tuple[float, int, int]:
    """Run ``ops`` calls of ``one(n)`` over ``connections`` workers: seconds, done, refused."""
    counter = iter(range(ops))
    done = refused = 0

    async def worker() -> None:
        nonlocal done, refused
        for n in counter:
            if await one(n):
                done += 1
            else:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, done, refused


async def app_issues(
    db: Database, rows: list[tuple[Any, ...]], connections: int, ops: int
) -> tuple[float, int, int]:
    """Issues through ``ledger.move`` on the app's engine, in the client's row scope."""
    client_id = rows[0][0]
    scope = row_scope.of_client(client_id)

    async def one(n: int) -> bool:
        _, warehouse_id, product_id = rows[n % len(rows)]
        with row_scope.scoped(scope):
            try:
                async with db.sessions() as session, session.begin():
                    await ledger.move(
                        session,
                        client_id=client_id,
                        warehouse_id=warehouse_id,
                        product_id=product_id,
                        kind=MovementKind.issue,
                        quantity=Decimal(-1),
                        document_kind=MovementDocument.ticket,
                        document_id=uuid.uuid4(),
                        actor_id=client_id,
                    )
            except Conflict:
                return False
        return True

    return await _workers(connections, ops, one)


RAW_UPDATE = (
    "UPDATE inventory_stock SET on_hand = on_hand - 1000, updated_at = now() "
    "WHERE warehouse_id = $1 AND product_id = $2 AND 1000 <= on_hand - reserved "
    "RETURNING id, average_cost_minor"
)
RAW_INSERT = (
    "INSERT INTO inventory_movements (id, client_id, warehouse_id, product_id, kind, quantity, "
    "unit_cost_minor, document_kind, document_id, actor_id, reason, created_at) "
    "VALUES ($1, $2, $3, $4, 'issue', -1000, $5, 'ticket', $6, $2, '', now())"
)


async def raw_issues(
    pool: asyncpg.Pool, rows: list[tuple[Any, ...]], connections: int, ops: int
) -> tuple[float, int, int]:
    """The same conditional UPDATE and INSERT, straight through asyncpg."""

    async def one(n: int) -> bool:
        client_id, warehouse_id, product_id = rows[n % len(rows)]
        async with pool.acquire() as conn, conn.transaction():
            found = await conn.fetchrow(RAW_UPDATE, warehouse_id, product_id)
            if found is None:
                return False
            await conn.execute(
                RAW_INSERT,
                uuid.uuid4(),
                client_id,
                warehouse_id,
                product_id,
                found["average_cost_minor"],
                uuid.uuid4(),
            )
        return True

    return await _workers(connections, ops, one)


async def checks(args: argparse.Namespace, db: Database, client_id: Any) -> dict[str, Any]:
    """No negative stock anywhere; client 0's ledger verified; every client's sums in SQL."""
    conn = await asyncpg.connect(_url(args.admin_url, args.database))
    try:
        negative = await conn.fetchval(
            "SELECT count(*) FROM inventory_stock WHERE on_hand < 0 OR reserved > on_hand"
        )
        started = time.perf_counter()
        differences_sql = await conn.fetchval(
            """
            SELECT count(*) FROM (
                SELECT warehouse_id, product_id, sum(quantity) AS total
                FROM inventory_movements GROUP BY warehouse_id, product_id
            ) m FULL JOIN inventory_stock s USING (warehouse_id, product_id)
            WHERE coalesce(m.total, 0) <> coalesce(s.on_hand, 0)
            """
        )
        sql_seconds = time.perf_counter() - started
    finally:
        await conn.close()
    started = time.perf_counter()
    with row_scope.scoped(row_scope.of_client(client_id)):
        async with db.sessions() as session:
            differences = await ledger.verify(session, client_id=client_id)
    return {
        "negative_rows": negative,
        "verify_differences_client0": len(differences),
        "verify_seconds_client0": time.perf_counter() - started,
        "sql_differences_all": differences_sql,
        "sql_verify_seconds_all": sql_seconds,
    }


# --- through HTTP (the parts module's route, when it exists) -------------------------------------

PARTS_ROUTE = "/api/v1/tickets/{ticket_id}/parts"


async def http_issues(args: argparse.Namespace, service_url: str, client_id: Any) -> None:
    """``--ops`` issues of one unit as ``POST /tickets/{id}/parts`` (in-process ASGI, the
    ``--http-token`` caller), against the raw reference in the same run."""
    from cpu_per_request import AsgiClient

    from kerops.main import create_app

    app = create_app(_settings(service_url, args.connections))
    if not any(getattr(r, "path", "") == PARTS_ROUTE for r in app.router.routes):
        print(f"http: {PARTS_ROUTE} is not on this build; skipped")
        return
    client = AsgiClient(app)
    headers = {"Authorization": f"Bearer {args.http_token}"}
    path = PARTS_ROUTE.format(ticket_id=args.http_ticket)
    async with app.router.lifespan_context(app):
        rows = await hot_rows(args, args.hot_rows, args.ops // args.hot_rows + 10)

        async def one(n: int) -> bool:
            _, warehouse_id, product_id = rows[n % len(rows)]
            body = {"warehouse_id": str(warehouse_id), "product_id": str(product_id)}
            status, text = await client.request(
                "POST", path, json={**body, "quantity": "1"}, headers=headers
            )
            if status >= 500 or status not in (200, 201, 409):
                raise SystemExit(f"http: {status} {text[:300]!r}")
            return status != 409

        took, done, refused = await _workers(args.connections, args.ops, one)
    print(f"http: {done} issued, {refused} refused in {took:.2f} s ({done / took:,.0f}/s)")


# --- lists ---------------------------------------------------------------------------------------

# The first page has no cursor condition; a later page starts after its cursor (as the
# reader's keyset pages are built: a cursor adds ``id > :after``, never an OR with NULL).
STOCK_BASE = (
    "SELECT s.id, s.created_at, s.warehouse_id, s.product_id, s.on_hand, s.reserved, s.on_order "
    "FROM inventory_stock s WHERE s.client_id = $1 AND s.warehouse_id IN "
    "(SELECT id FROM warehouses WHERE client_id = $1)"
)
MOVEMENT_BASE = (
    "SELECT m.id, m.warehouse_id, m.product_id, m.kind, m.quantity, m.created_at "
    "FROM inventory_movements m WHERE m.client_id = $1 AND m.warehouse_id IN "
    "(SELECT id FROM warehouses WHERE client_id = $1)"
)
#: Each list's base, its keyset condition past a cursor and its order: the stock list's default
#: order is (created_at, id), the movements' the id, newest first.
PAGES = {
    "stock": (STOCK_BASE, "(s.created_at, s.id) > ($3, $4)", "s.created_at, s.id", 2),
    "movements": (MOVEMENT_BASE, "m.id < $3", "m.id DESC", 1),
}


async def lists(args: argparse.Namespace, client_id: Any) -> dict[str, float]:
    """Page 1 and page 1,000 of both lists' keyset SQL, as the service role in client 0's
    scope (row-level security applies): median milliseconds."""
    conn = await asyncpg.connect(_url(args.admin_url, args.database, SERVICE_ROLE))
    try:
        await conn.execute(row_scope.of_client(client_id).literal_sql)
        result: dict[str, float] = {}
        for name, (base, after, order, keys) in PAGES.items():
            first = f"{base} ORDER BY {order} LIMIT $2"
            later = f"{base} AND {after} ORDER BY {order} LIMIT $2"
            cursor_columns = "created_at, id" if keys == 2 else "id"
            deep = await conn.fetchrow(
                f"SELECT {cursor_columns} FROM ({base} ORDER BY {order} OFFSET $2 LIMIT 1) x",
                client_id,
                args.page_size * 999 - 1,
            )
            deep_cursor = None if deep is None else tuple(deep)
            for page, sql, params in (
                ("page 1", first, (client_id, args.page_size)),
                ("page 1000", later, (client_id, args.page_size, *(deep_cursor or ()))),
            ):
                if deep_cursor is None and page == "page 1000":
                    result[f"{name} {page} ms"] = float("nan")
                    continue
                times = []
                for _ in range(args.list_runs):
                    started = time.perf_counter()
                    found = await conn.fetch(sql, *params)
                    times.append((time.perf_counter() - started) * 1000)
                    assert len(found) == args.page_size, (name, page, len(found))
                result[f"{name} {page} ms"] = statistics.median(times)
        return result
    finally:
        await conn.close()


# --- main ----------------------------------------------------------------------------------------


async def _raw_pool(url: str, connections: int, client_id: Any) -> asyncpg.Pool:
    """A pool whose connections carry client 0's scope, set once and kept (no RESET ALL when
    one is released): every connection serves that client only."""
    scope_sql = row_scope.of_client(client_id).literal_sql

    async def scoped(conn: asyncpg.Connection) -> None:
        await conn.execute(scope_sql)

    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=connections, max_size=connections, init=scoped, reset=_keep_scope
    )
    return pool


async def _timed_round(
    args: argparse.Namespace, label: str, service_url: str, client_id: Any
) -> tuple[float, int, int]:
    """One timed run of one side, on its own pool (the server takes 100 connections: both
    sides' 64 are never open at once), warmed first (connections opened, statements
    prepared)."""
    stock = args.ops // args.hot_rows + 10
    warm = await hot_rows(args, args.hot_rows, 10 * args.connections)
    rows = await hot_rows(args, args.hot_rows, stock)
    if label == "app":
        db = Database(_settings(service_url, args.connections))
        try:
            await app_issues(db, warm, args.connections, 4 * args.connections)
            return await app_issues(db, rows, args.connections, args.ops)
        finally:
            await db.dispose()
    pool = await _raw_pool(service_url, args.connections, client_id)
    try:
        await raw_issues(pool, warm, args.connections, 4 * args.connections)
        return await raw_issues(pool, rows, args.connections, args.ops)
    finally:
        await pool.close()


async def run(args: argparse.Namespace) -> None:
    seconds = await seed(args)
    if seconds:
        print(f"seed: {seconds:.1f} s in all ({_size(args)})")
    service_url = _url(args.admin_url, args.database, SERVICE_ROLE)
    admin = await asyncpg.connect(_url(args.admin_url, args.database))
    try:  # the service role sees no client before its scope is set
        client_id = await admin.fetchval("SELECT id FROM clients WHERE name = 'Cliente 0'")
    finally:
        await admin.close()
    if args.lists_only:
        for key, value in (await lists(args, client_id)).items():
            print(f"{key}: {value:.2f}")
        return
    figures: dict[str, list[float]] = {"app": [], "raw": []}
    for round_ in range(args.rounds):
        for label in ("app", "raw"):
            took, done, refused = await _timed_round(args, label, service_url, client_id)
            assert done == args.ops and refused == 0, (label, done, refused)
            figures[label].append(args.ops / took)
            print(
                f"round {round_ + 1} {label}: {args.ops} issues in {took:.2f} s "
                f"({args.ops / took:,.0f}/s); load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    db = Database(_settings(service_url, args.connections))
    try:
        drain_rows = await hot_rows(args, 1, 50)
        _, issued, refused = await app_issues(db, drain_rows, args.connections, 200)
        admin = await asyncpg.connect(_url(args.admin_url, args.database))
        try:
            left = await admin.fetchval(
                "SELECT on_hand FROM inventory_stock WHERE warehouse_id = $1 AND product_id = $2",
                drain_rows[0][1],
                drain_rows[0][2],
            )
        finally:
            await admin.close()
        print(
            f"drain: 200 issues on a stock of 50 -> {issued} issued, {refused} refused, "
            f"on_hand {Decimal(left) / 1000}"
        )
        assert (issued, refused, left) == (50, 150, 0)
        app = statistics.median(figures["app"])
        raw = statistics.median(figures["raw"])
        print(
            f"issues/s (median of {args.rounds}): app {app:,.0f}, raw asyncpg {raw:,.0f}, "
            f"ratio {app / raw:.2f}x (target >= 0.35x)"
        )
        for key, value in (await checks(args, db, client_id)).items():
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    finally:
        await db.dispose()
    for key, value in (await lists(args, client_id)).items():
        print(f"{key}: {value:.2f}")
    if args.http_ticket:
        await http_issues(args, service_url, client_id)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--database", default="kerops_bench_inventory")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--warehouses", type=int, default=20)
    parser.add_argument("--movements", type=int, default=5_000_000)
    parser.add_argument("--force", action="store_true", help="seed again even if seeded")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--hot-rows", type=int, default=4)
    parser.add_argument("--ops", type=int, default=20_000, help="issues per timed run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=25)
    parser.add_argument("--list-runs", type=int, default=20)
    parser.add_argument("--lists-only", action="store_true", help="time only the lists")
    parser.add_argument("--http-ticket", default=None, help="time POST /tickets/{id}/parts too")
    parser.add_argument("--http-token", default="", help="a bearer token of a caller who issues")
    args = parser.parse_args()
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
