"""How much of a ticket read is the framework, and how much the database layer: the floor.

The app answers ``GET /api/v1/tickets/{id}`` in-process (as ``cpu_per_request.py`` does, straight
to the ASGI app) next to variants of the same route added to the same app for this measurement
only, each with the same authentication, middleware and response model:

- ``app``: the app's own route, a lean read (``kerops.core.reads``: the reader dependency, no
  request session, the scoped select of the ticket's columns sent straight to asyncpg with
  SQLAlchemy's type processing, answered as ``TicketRead``'s JSON);
- ``core``: the same select through SQLAlchemy Core on the request session's connection, with
  ``PrincipalDep`` and ``SessionDep`` (the route before lean reads);
- ``orm``: the same through the ORM (``access.get_scoped``: an ORM object, loaded into the
  session's identity map, validated from its attributes), as the route did before that;
- ``asyncpg``: the same row fetched with asyncpg straight from a pool of its own, no SQLAlchemy
  (the principal still checked by the app's dependency);
- ``no database``: the principal and the request session resolved, no statement sent, a
  ``TicketRead`` built beforehand returned: what FastAPI, the middleware, the authentication
  and the serialisation cost on their own.

Per variant: Python function calls per request (cProfile, deterministic) and process CPU per
request (median of 7 rounds of 1,000, the variants taking turns). The raw reference of
``bench_tickets.py`` spends its whole request (HTTP server included) in about the CPU the
``no database`` variant spends here.

Usage::

    .venv/bin/python bench/get_floor.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
import uuid
from typing import Any

import _src_snapshot  # noqa: F401  (first: freezes the source)
import asyncpg
import seed
import seed_scale
import uvloop
from bench_tickets import operations, pick_dataset
from cpu_per_request import AsgiClient, bench_settings, owner_headers

from kerops.core import access
from kerops.core.deps import PrincipalDep, SessionDep
from kerops.main import create_app
from kerops.operations.models import ServiceTicket
from kerops.operations.schemas import TicketRead


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def measure(args: argparse.Namespace) -> None:
    url = seed.database_url(args.admin_url, args.database)
    data = await pick_dataset(url, {})
    app = create_app(bench_settings(url, args.log_level, prefix="kerops-floor-"))
    pool: dict[str, Any] = {}
    prepared: dict[str, TicketRead] = {}
    columns = ", ".join(c.name for c in ServiceTicket.__table__.columns)
    raw_sql = f"SELECT {columns} FROM service_tickets WHERE id = $1 AND client_id = $2"

    @app.get("/floor/core/{ticket_id}", response_model=TicketRead)
    async def core(ticket_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> Any:
        connection = await session.connection()
        statement = access.row_statement(ServiceTicket, principal)
        found = await connection.execute(statement, {"object_id": ticket_id})
        return dict(found.mappings().one())

    @app.get("/floor/orm/{ticket_id}", response_model=TicketRead)
    async def orm(ticket_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> Any:
        return await access.get_scoped(session, ServiceTicket, ticket_id, principal)

    @app.get("/floor/asyncpg/{ticket_id}", response_model=TicketRead)
    async def raw(ticket_id: uuid.UUID, principal: PrincipalDep) -> Any:
        async with pool["pool"].acquire() as connection:
            row = await connection.fetchrow(raw_sql, ticket_id, principal.client_id)
        return TicketRead.model_validate(dict(row))

    @app.get("/floor/none/{ticket_id}", response_model=TicketRead)
    async def none(ticket_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> Any:
        return prepared["ticket"]

    pool["pool"] = await asyncpg.create_pool(
        url.replace("+asyncpg", ""), min_size=1, max_size=2, init=_json_codecs
    )
    client = AsgiClient(app)
    async with app.router.lifespan_context(app):
        headers = await owner_headers(client)
        path = next(op for op in operations(data) if op.key == "get").requests[0][0]
        ticket_id = path.rsplit("/", 1)[1]
        status, body = await client.request("GET", path, headers=headers)
        prepared["ticket"] = TicketRead.model_validate_json(body)
        variants = {
            "app": path,
            "core": f"/floor/core/{ticket_id}",
            "orm": f"/floor/orm/{ticket_id}",
            "asyncpg": f"/floor/asyncpg/{ticket_id}",
            "no database": f"/floor/none/{ticket_id}",
        }
        print(f"GET /tickets/{{id}}, {args.requests:,} requests per round, in-process")
        calls: dict[str, float] = {}
        for name, target in variants.items():
            status, answer = await client.request("GET", target, headers=headers)
            if status != 200 or json.loads(answer) != json.loads(body):
                raise SystemExit(f"{name}: {status}, not the app's document")
            for _ in range(100):
                await client.request("GET", target, headers=headers)
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(300):
                await client.request("GET", target, headers=headers)
            profiler.disable()
            calls[name] = pstats.Stats(profiler).total_calls / 300  # type: ignore[attr-defined]
        # Rounds alternate between the variants, so a slower stretch of the machine is shared.
        rounds: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, target in variants.items():
                started = time.process_time()
                for _ in range(args.requests):
                    await client.request("GET", target, headers=headers)
                rounds[name].append((time.process_time() - started) * 1000 / args.requests)
        print(f"  {'variant':<12} {'calls/req':>10} {'CPU ms/req':>11}")
        for name in variants:
            cpu = statistics.median(rounds[name])
            print(f"  {name:<12} {calls[name]:>10,.0f} {cpu:>11.3f}")
    await pool["pool"].close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=seed_scale.DEFAULT_DATABASE)
    parser.add_argument("--admin-url", default=seed.DEFAULT_ADMIN_URL)
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    uvloop.run(measure(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
