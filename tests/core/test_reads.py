"""Reads (``kerops.core.reads``): the statement runner gives what SQLAlchemy gives, keeps
the pool healthy, and the reader of read-only routes answers every kind of credential exactly as
the request's principal does."""

from __future__ import annotations

import asyncio
import typing
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Float, Numeric, String, bindparam, cast, event, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator

from kerops.auth.models import ApiKey
from kerops.core.deps import get_reader
from kerops.core.documents import Document
from kerops.core.enums import TicketPriority, TicketStatus
from kerops.core.reads import StatementRunner
from kerops.core.types import utcnow, uuid7
from kerops.operations.models import ServiceTicket
from kerops.users.models import User
from tests.auth.test_api_keys import create_key
from tests.conftest import USE_PG, QueryCounter, as_platform
from tests.fixtures.factories import Runner, register_owner
from tests.fixtures.operations import create_ticket, set_ticket
from tests.fixtures.tenancy import make_team
from tests.isolation import build_world
from tests.test_isolation import CASES
from tests.test_isolation import _call as _call_case

API = "/api/v1"
TICKET_COLUMNS = select(*ServiceTicket.__table__.columns)


def _runner(client: TestClient) -> StatementRunner:
    runner: StatementRunner = client.app.state.kerops.db.reads  # type: ignore[attr-defined]
    return runner


def _call(client: TestClient, fn: Any) -> Any:
    return client.portal.call(as_platform(fn))  # type: ignore[union-attr]


def _a_ticket(client: TestClient, run: Runner) -> tuple[dict[str, Any], dict[str, str]]:
    """A ticket with JSON, float, money and time fields set, and its requester's headers."""
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, description="Gotea el techo")
    set_ticket(
        run,
        ticket["id"],
        ai_parts=[{"name": "Filtro", "score": 0.8}],
        ai_confidence=0.75,
        labour_cost_minor=12_500,
        planned_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    )
    return ticket, team.requester.headers


def test_a_row_is_what_sqlalchemy_gives(client: TestClient, run: Runner) -> None:
    ticket, _ = _a_ticket(client, run)
    # Parameters go through the column types (an enum, a UUID) and values come back converted
    # (enums, JSON, times, floats), equal to what the session gives for the same statement.
    statement = TICKET_COLUMNS.where(
        ServiceTicket.id == bindparam("ticket_id"),
        ServiceTicket.status == TicketStatus.open,
        ServiceTicket.priority != TicketPriority.critical,
    )
    params = {"ticket_id": uuid.UUID(ticket["id"])}
    runner = _runner(client)
    kept = len(runner)

    async def by_session(session: AsyncSession) -> dict[str, Any]:
        return dict((await session.execute(statement, params)).mappings().one())

    expected = run(by_session)
    got = _call(client, lambda: runner.one(statement, params))
    assert got == expected
    assert len(runner) == kept + (1 if runner.direct else 0)
    assert got["status"] is TicketStatus.open
    assert got["ai_parts"] == [{"name": "Filtro", "score": 0.8}]
    assert got["planned_at"] == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert got["ai_confidence"] == 0.75
    # An IN list is rendered per call by SQLAlchemy (not kept), with the same result.
    expanding = TICKET_COLUMNS.where(ServiceTicket.id.in_(bindparam("ids", expanding=True)))
    kept = len(runner)
    found = _call(client, lambda: runner.one(expanding, {"ids": [uuid.UUID(ticket["id"])]}))
    assert found == expected
    assert len(runner) == kept
    assert _call(client, lambda: runner.one(statement, {"ticket_id": uuid7()})) is None


class Shouted(TypeDecorator[str]):
    """Sent reversed, read back in capitals: both conversions must be applied."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value[::-1]

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else value.upper()


def test_parameters_and_values_go_through_their_types(client: TestClient, run: Runner) -> None:
    statement = select(
        bindparam("word", type_=Shouted).label("word"),
        cast(bindparam("number"), Numeric(10, 2)).label("amount"),
        cast(bindparam("number"), Float).label("ratio"),
    )
    params = {"word": "hola", "number": "12.50"}

    async def by_session(session: AsyncSession) -> dict[str, Any]:
        return dict((await session.execute(statement, params)).mappings().one())

    expected = run(by_session)
    runner = _runner(client)
    got = _call(client, lambda: runner.one(statement, params))
    assert got == expected == {"word": "ALOH", "amount": Decimal("12.50"), "ratio": 12.5}
    assert type(got["amount"]) is type(expected["amount"]) is Decimal
    assert type(got["ratio"]) is float


def test_each_statement_is_compiled_once_and_the_plans_are_bounded(client: TestClient) -> None:
    runner = StatementRunner(_runner(client).engine, max_statements=2)
    sent: list[str] = []
    runner.listeners.append(sent.append)
    statements = [select(literal(n).label("n")) for n in range(3)]

    async def go() -> list[Any]:
        return [
            await runner.one(statements[0]),
            await runner.one(statements[0]),
            await runner.one(statements[1]),
            await runner.one(statements[2]),
        ]

    assert _call(client, go) == [{"n": 0}, {"n": 0}, {"n": 1}, {"n": 2}]
    assert len(runner) <= 2
    if runner.direct:
        assert len(sent) == 4 and sent[0] == sent[1]
    else:
        assert sent == []  # through SQLAlchemy: the engine's own events see them


@pytest.mark.skipif(not USE_PG, reason="statements go straight to the driver on PostgreSQL only")
def test_the_pool_stays_healthy_after_errors_and_cancellation(client: TestClient) -> None:
    runner = _runner(client)
    pool = runner.engine.sync_engine.pool
    assert runner.direct
    one = select(literal(1).label("one"))
    failing = select((literal(1) / bindparam("zero")).label("x"))
    slow = select(func.pg_sleep(bindparam("seconds")).label("slept"))

    dropped: list[object] = []
    event.listen(pool, "invalidate", lambda *args: dropped.append(args[0]))

    async def go() -> list[Any]:
        import asyncpg

        outcomes: list[Any] = []
        with pytest.raises(asyncpg.DivisionByZeroError):
            await runner.one(failing, {"zero": 0})
        outcomes += [pool.checkedout(), len(dropped), await runner.one(one)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(runner.one(slow, {"seconds": 5}), 0.2)
        outcomes += [pool.checkedout(), len(dropped), await runner.one(one)]
        return outcomes

    # The server's error leaves the connection in the pool, a cancelled statement's connection
    # is dropped (never handed to another request mid-statement); nothing stays checked out.
    assert _call(client, go) == [0, 0, {"one": 1}, 0, 1, {"one": 1}]


def test_a_read_costs_one_statement_and_none_for_a_cached_caller(
    client: TestClient, run: Runner, queries: QueryCounter
) -> None:
    ticket, headers = _a_ticket(client, run)
    path = f"{API}/tickets/{ticket['id']}"
    with queries as counted:  # the principal is not cached: read in a session of its own
        assert client.get(path, headers=headers).status_code == 200
    uncached = counted.count
    queries.on_enter = None
    with queries as counted:
        assert client.get(path, headers=headers).status_code == 200
    # (SQLite's count includes the BEGIN of the read's transaction.)
    assert counted.count == (1 if USE_PG else 2)
    assert uncached > counted.count


# --- the reader answers credentials as the request's principal does ------------------------------


def _answer(client: TestClient, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    response = client.get(path, headers=headers)
    body = response.json()
    if response.status_code >= 400:
        return response.status_code, (body["code"], body["detail"])
    return response.status_code, None


def test_the_reader_answers_every_credential_like_the_principal(
    client: TestClient, run: Runner
) -> None:
    owner = register_owner(client)
    locale = client.post(f"{API}/locales", json={"name": "Centro"}, headers=owner.headers)
    assert locale.status_code == 201, locale.text
    ticket = create_ticket(client, owner, locale.json()["id"])
    reader_route = f"{API}/tickets/{ticket['id']}"  # the reader
    principal_route = f"{API}/tickets/{ticket['id']}/history"  # the request's principal
    cache = client.app.state.kerops.db.principals  # type: ignore[attr-defined]

    def key(scopes: list[str], **values: Any) -> dict[str, str]:
        created = create_key(client, owner, scopes=scopes)
        if values:

            async def change(session: AsyncSession) -> None:
                await session.execute(
                    update(ApiKey).where(ApiKey.id == uuid.UUID(created["id"])).values(**values)
                )

            run(change)
        return {"X-API-Key": created["key"]}

    token = owner.headers["Authorization"].removeprefix("Bearer ")
    cases: dict[str, dict[str, str]] = {
        "none": {},
        "garbage token": {"Authorization": "Bearer not-a-token"},
        "tampered token": {"Authorization": f"Bearer {token[:-6]}AAAAAA"},
        "token": owner.headers,
        "read key": key(["read"]),
        "read key as bearer": {"Authorization": f"Bearer {key(['read'])['X-API-Key']}"},
        "write-only key": key(["write"]),
        "revoked key": key(["read"], revoked_at=utcnow()),
        "expired key": key(["read"], expires_at=utcnow() - timedelta(minutes=1)),
        "unknown key": {"X-API-Key": "kro_unknown"},
    }
    for name, headers in cases.items():
        cache.clear()
        miss = _answer(client, reader_route, headers)
        hit = _answer(client, reader_route, headers)  # a token's principal is cached now
        cache.clear()
        assert miss == hit == _answer(client, principal_route, headers), name
    assert _answer(client, reader_route, cases["token"]) == (200, None)
    assert _answer(client, reader_route, cases["read key as bearer"]) == (200, None)
    assert _answer(client, reader_route, cases["write-only key"])[0] == 403
    for refused in ("none", "garbage token", "tampered token", "revoked key", "expired key"):
        assert _answer(client, reader_route, cases[refused])[0] == 401, refused

    # A deactivated user is refused at once (the change clears the cached principals).
    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == owner.id).values(is_active=False))

    assert _answer(client, reader_route, owner.headers)[0] == 200
    run(deactivate)
    assert _answer(client, reader_route, owner.headers) == _answer(
        client, principal_route, owner.headers
    )
    assert _answer(client, reader_route, owner.headers)[0] == 401


# --- every document read equals the ORM object's ------------------------------------------------


#: Reader routes whose answer is not the documents of one model, with why and what checks them.
NOT_DOCUMENTS = {
    "/api/v1/sync": "objects of several kinds, each as its own GET shows it (tests/sync)",
    "/api/v1/tickets/{ticket_id}/parts": "a ticket's movements added up per part "
    "(tests/parts/test_ticket_parts.py)",
    "/api/v1/inventory/transfers/{transfer_id}": "a transfer with its movements "
    "(tests/inventory/test_stores.py)",
    "/api/v1/inventory/counts/{count_id}": "a count with its lines "
    "(tests/inventory/test_stores.py)",
    "/api/v1/inventory/valuation": "stock values added up per warehouse and category "
    "(tests/inventory/test_stores.py)",
    "/api/v1/purchase-orders/{order_id}": "an order with its lines and history, each read "
    "through its rule (tests/purchasing)",
    "/api/v1/purchasing/settings": "a client's settings, their defaults until set "
    "(tests/purchasing)",
    "/api/v1/tickets/{ticket_id}/pdf": "a PDF file: the ticket with its details, each read "
    "through its rule (tests/reports/test_work_order_pdf.py)",
    "/api/v1/locales/{locale_id}/reports/monthly.pdf": "a PDF file: a locale's month of "
    "figures added up from several tables (tests/reports/test_monthly_route.py)",
    "/api/v1/analytics/overview": "cards of figures added up from several tables, each "
    "beside the previous period's (tests/analytics)",
    "/api/v1/analytics/{metric}": "one metric's series and breakdowns added up from several "
    "tables (tests/analytics)",
    "/api/v1/reports/{report_id}/link": "a signed link to a report's file, made now "
    "(tests/reports/test_reports.py)",
}


def _reader_routes(client: TestClient) -> list[tuple[str, Document, bool]]:
    """The GET routes answered through the reader: each with the document of its object (of
    its items, for a list) and whether it is a list."""
    found = []
    for route in client.app.router.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
            continue
        if not any(d.call is get_reader for d in route.dependant.dependencies):
            continue
        if route.path in NOT_DOCUMENTS:
            continue
        schema = route.response_model
        if schema is None:
            continue  # a file (an export), not a document
        items = schema.model_fields.get("items")
        if items is not None:
            schema = typing.get_args(items.annotation)[0]
        documents = [
            value
            for value in route.endpoint.__globals__.values()
            if isinstance(value, Document) and value.schema is schema
        ]
        assert len(documents) == 1, f"{route.path}: no single document for its response model"
        found.append((route.path, documents[0], items is not None))
    return found


def test_every_read_through_the_reader_equals_the_orm_objects(
    client: TestClient, run: Runner
) -> None:
    world = build_world(client, run)
    routes = _reader_routes(client)
    assert {path.removeprefix(API) for path, _, _ in routes} >= {
        "/tickets",
        "/tickets/{ticket_id}",
        "/assets",
        "/assets/{asset_id}",
        "/products/{product_id}",
        "/iot-devices/{device_id}",
        "/workflows/{workflow_id}",
        "/locales/{locale_id}",
        "/technicians/shifts/{shift_id}",
        "/technicians/certifications/{certification_id}",
        "/users/{user_id}",
        "/vendors/{vendor_id}",
        "/sla-policies/{policy_id}",
        "/app-versions/{version_id}",
        "/locales",
        "/products",
        "/iot-devices",
        "/workflows",
        "/technicians/shifts",
        "/technicians/certifications",
        "/users",
        "/vendors",
        "/vendors/{vendor_id}/members",
        "/sla-policies",
        "/app-versions",
        "/locales/{locale_id}/areas",
        "/locales/{locale_id}/areas/{area_id}",
        "/notifications",
    }
    # Single objects first: aiming some of them creates the object a list then shows.
    for path, document, is_list in sorted(routes, key=lambda found: found[2]):
        response = _call_case(world, "GET", path, CASES[("GET", path)], world.a_owner.headers)
        assert response.status_code == 200, (path, response.text)
        shown = response.json()["items"] if is_list else [response.json()]
        assert shown, f"{path}: nothing to compare"

        async def by_orm(
            session: AsyncSession, document: Any = document, shown: Any = shown
        ) -> Any:
            objects = [await session.get(document.model, uuid.UUID(one["id"])) for one in shown]
            return [document.schema.model_validate(o).model_dump(mode="json") for o in objects]

        assert shown == run(by_orm), path


def test_a_document_must_be_made_of_columns() -> None:
    from kerops.operations.schemas import HistoryRead

    with pytest.raises(TypeError, match="not columns"):
        Document(ServiceTicket, HistoryRead)
