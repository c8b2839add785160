"""Speed-up ``direct_reads``: the SQLAlchemy and asyncpg internals the statement runner's direct
path uses are still there with the shape it relies on, and its answers equal SQLAlchemy Core's
(the path taken with the switch off)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import greenlet_spawn

from kerops.core.enums import TicketStatus
from kerops.core.reads import StatementRunner
from kerops.operations.models import ServiceTicket
from tests.conftest import USE_PG, as_platform
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import make_team
from tests.speedups.conftest import shape

STATEMENT = select(*ServiceTicket.__table__.columns).where(
    ServiceTicket.id == bindparam("ticket_id"), ServiceTicket.status == TicketStatus.open
)


def test_sqlalchemys_compiled_statement_has_what_the_plan_reads() -> None:
    dialect = pg_asyncpg.dialect()
    compiled = STATEMENT.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    assert isinstance(compiled.string, str) and "$1" in compiled.string
    assert list(compiled.positiontup or ()) == ["ticket_id", "status_1"]
    assert set(compiled.binds) >= {"ticket_id", "status_1"}
    assert not compiled.post_compile_params and not compiled.literal_execute_params
    assert ("_check", "KEYWORD_ONLY") in shape(SQLCompiler.construct_params) or (
        "_check",
        "POSITIONAL_OR_KEYWORD",
    ) in shape(SQLCompiler.construct_params)
    ticket_id = uuid.uuid4()
    values = compiled.construct_params({"ticket_id": ticket_id}, _check=False)
    assert values == {"ticket_id": ticket_id, "status_1": TicketStatus.open}
    # The types' processors, asked as the plan asks them.
    status_type = compiled.binds["status_1"].type.dialect_impl(dialect)
    assert isinstance(status_type, TypeEngine)
    assert shape(status_type.bind_processor) == [("dialect", "POSITIONAL_OR_KEYWORD")]
    assert shape(status_type.result_processor) == [
        ("dialect", "POSITIONAL_OR_KEYWORD"),
        ("coltype", "POSITIONAL_OR_KEYWORD"),
    ]


def test_the_pool_and_driver_internals_the_runner_uses_are_there() -> None:
    # ``Pool._invalidate(connection, exception)`` replaces every pooled connection, as SQLAlchemy
    # does when its own statement finds the connection lost.
    assert shape(Pool._invalidate)[:3] == [
        ("self", "POSITIONAL_OR_KEYWORD"),
        ("connection", "POSITIONAL_OR_KEYWORD"),
        ("exception", "POSITIONAL_OR_KEYWORD"),
    ]
    assert callable(AsyncEngine.raw_connection)
    assert callable(greenlet_spawn)
    for name in ("prepare", "fetchrow"):
        assert callable(getattr(asyncpg.Connection, name)), name
    assert callable(asyncpg.prepared_stmt.PreparedStatement.get_attributes)


def test_direct_answers_equal_sqlalchemy_cores(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, description="Gotea")
    direct: StatementRunner = client.app.state.kerops.db.reads  # type: ignore[attr-defined]
    assert direct.direct is USE_PG
    plain = StatementRunner(direct.engine, direct=False)
    assert plain.direct is False
    params: dict[str, Any] = {"ticket_id": uuid.UUID(ticket["id"])}
    got = client.portal.call(as_platform(lambda: direct.one(STATEMENT, params)))  # type: ignore[union-attr]
    expected = client.portal.call(as_platform(lambda: plain.one(STATEMENT, params)))  # type: ignore[union-attr]
    assert got == expected
    assert got is not None and got["status"] is TicketStatus.open
    assert len(plain) == 0  # the plain path keeps no plan of its own
