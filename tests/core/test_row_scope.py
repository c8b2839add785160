"""The second wall: PostgreSQL's row-level security keeps each client's rows to its own callers,
even with the application's own scoping bypassed (``kerops.core.row_scope``, migration 0016)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from kerops import modules
from kerops.config import Settings
from kerops.core import row_scope
from kerops.core.db import Database
from kerops.core.enums import UserRole
from kerops.core.models import Base
from kerops.core.principal import Principal
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale
from tests.conftest import SERVICE_ROLE, USE_PG
from tests.fixtures.assets import make_ticket
from tests.fixtures.factories import Runner, make_locale, make_user, register_owner

pytestmark = pytest.mark.skipif(not USE_PG, reason="row-level security is PostgreSQL's")

POLICY = "kerops_client_rows"


def _call(client: TestClient, fn: Any) -> Any:
    return client.portal.call(fn)  # type: ignore[union-attr]


def _db(client: TestClient) -> Database:
    db: Database = client.app.state.kerops.db  # type: ignore[attr-defined]
    return db


def test_every_table_with_a_client_id_has_the_policy(client: TestClient) -> None:
    """A new module's table with a ``client_id`` fails here until a migration adds its policy."""
    modules.import_models()
    expected = {t.name for t in Base.metadata.tables.values() if "client_id" in t.c}
    assert len(expected) > 30

    async def read() -> tuple[dict[str, Any], set[str]]:
        async with _db(client).engine.connect() as conn:
            policies = {
                r.tablename: r
                for r in await conn.execute(
                    text(
                        "SELECT tablename, cmd, permissive, qual, with_check FROM pg_policies "
                        "WHERE schemaname = current_schema() AND policyname = :name"
                    ),
                    {"name": POLICY},
                )
            }
            enabled = set(
                (
                    await conn.execute(
                        text(
                            "SELECT relname FROM pg_class WHERE relrowsecurity "
                            "AND relnamespace = current_schema()::regnamespace"
                        )
                    )
                ).scalars()
            )
        return policies, enabled

    policies, enabled = _call(client, read)
    assert sorted(expected - set(policies)) == []
    assert sorted(expected - enabled) == []
    for table in expected:
        policy = policies[table]
        assert policy.cmd == "ALL" and policy.permissive == "PERMISSIVE"
        assert policy.qual == policy.with_check, table
        assert "kerops_assigned_clients()" in policy.qual, table


def test_the_service_role_owns_nothing_and_is_no_superuser(client: TestClient) -> None:
    async def read() -> Any:
        async with _db(client).engine.connect() as conn:
            return (
                await conn.execute(
                    text(
                        "SELECT current_user AS name, r.rolsuper, r.rolbypassrls, "
                        "(SELECT count(*) FROM pg_tables WHERE tableowner = current_user) "
                        "AS owned FROM pg_roles AS r WHERE r.rolname = current_user"
                    )
                )
            ).one()

    role = _call(client, read)
    assert role.name == SERVICE_ROLE
    assert (role.rolsuper, role.rolbypassrls, role.owned) == (False, False, 0)


class _Seen:
    """What a raw statement through the service's own engine sees in a scope."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.db = _db(client)

    def rows(self, scope: row_scope.RowScope, sql: str, *, read_engine: bool = False) -> set[Any]:
        engine = self.db.read_engine if read_engine else self.db.engine

        async def read() -> set[Any]:
            with row_scope.scoped(scope):
                async with engine.connect() as conn:
                    return set((await conn.execute(text(sql))).scalars())

        result: set[Any] = _call(self.client, read)
        return result

    def direct(self, scope: row_scope.RowScope, ticket_id: uuid.UUID) -> bool:
        statement = select(ServiceTicket.id).where(ServiceTicket.id == ticket_id)

        async def read() -> bool:
            with row_scope.scoped(scope):
                return await self.db.reads.one(statement) is not None

        found: bool = _call(self.client, read)
        return found

    def insert_locale(self, scope: row_scope.RowScope, client_id: uuid.UUID) -> None:
        async def write() -> None:
            with row_scope.scoped(scope):
                async with self.db.engine.begin() as conn:
                    await conn.execute(insert(Locale).values(client_id=client_id, name="Intruso"))

        _call(self.client, write)


def test_the_wall_stands_alone(client: TestClient, run: Runner) -> None:
    """Raw statements through the service's connections (no access rule in them): another
    client's rows are invisible and cannot be written; the platform sees all; no scope, none."""
    a = register_owner(client)
    b = register_owner(client)
    assert a.client_id is not None and b.client_id is not None
    locale_a = make_locale(run, a.client_id)
    locale_b = make_locale(run, b.client_id)
    ticket_a = make_ticket(run, a.client_id, locale_a, None)
    ticket_b = make_ticket(run, b.client_id, locale_b, None)
    seen = _Seen(client)
    scope_a, scope_b = row_scope.of_client(a.client_id), row_scope.of_client(b.client_id)

    for read_engine in (False, True):
        tickets = "SELECT id FROM service_tickets"
        assert seen.rows(scope_b, tickets, read_engine=read_engine) == {ticket_b}
        assert seen.rows(scope_a, tickets, read_engine=read_engine) == {ticket_a}
        assert seen.rows(row_scope.PLATFORM, tickets, read_engine=read_engine) >= {
            ticket_a,
            ticket_b,
        }
        assert seen.rows(row_scope.NO_ROWS, tickets, read_engine=read_engine) == set()
        locales = "SELECT id FROM locales"
        assert seen.rows(scope_b, locales, read_engine=read_engine) == {locale_b}
        assert seen.rows(row_scope.NO_ROWS, locales, read_engine=read_engine) == set()
        users = "SELECT id FROM users WHERE role = 'client_owner'"
        assert seen.rows(scope_b, users, read_engine=read_engine) == {b.id}

    # The statements sent straight to the driver (lean reads) are walled in the same way.
    assert seen.direct(scope_a, ticket_a) is True
    assert seen.direct(scope_b, ticket_a) is False
    assert seen.direct(row_scope.NO_ROWS, ticket_a) is False
    assert seen.direct(row_scope.PLATFORM, ticket_a) is True

    # Writing a row of another client is refused by the database itself.
    with pytest.raises(DBAPIError, match="row-level security"):
        seen.insert_locale(scope_b, a.client_id)
    with pytest.raises(DBAPIError, match="row-level security"):
        seen.insert_locale(row_scope.NO_ROWS, a.client_id)
    seen.insert_locale(scope_a, a.client_id)
    assert len(seen.rows(scope_a, "SELECT id FROM locales")) == 2


def test_a_technician_sees_the_clients_of_the_tickets_assigned_to_them(
    client: TestClient, run: Runner
) -> None:
    a = register_owner(client)
    b = register_owner(client)
    assert a.client_id is not None and b.client_id is not None
    technician = make_user(client, run, role=UserRole.technician, client_id=None)
    locale_a = make_locale(run, a.client_id)
    locale_b = make_locale(run, b.client_id)
    seen = _Seen(client)
    scope = row_scope.of_principal(
        Principal(user_id=technician.id, role=UserRole.technician, client_id=None, vendor_id=None)
    )
    assert seen.rows(scope, "SELECT id FROM locales") == set()
    ticket = make_ticket(run, a.client_id, locale_a, None, technician_id=technician.id)
    # Fresh: the assignment is seen by the next statement, nothing is cached.
    assert seen.rows(scope, "SELECT id FROM service_tickets") == {ticket}
    assert seen.rows(scope, "SELECT id FROM locales") == {locale_a}
    assert locale_b not in seen.rows(scope, "SELECT id FROM locales")


def _one_connection(settings: Settings) -> Database:
    return Database(settings.model_copy(update={"database_pool_size": 1}))


def test_a_pooled_connection_does_not_keep_its_last_callers_scope(
    client: TestClient, run: Runner, settings: Settings
) -> None:
    """One pooled connection used by callers in turn: each statement runs in its own caller's
    scope, also after a transaction (whose setting it rolled back) and through the driver."""
    a = register_owner(client)
    b = register_owner(client)
    assert a.client_id is not None and b.client_id is not None
    ticket_a = make_ticket(run, a.client_id, make_locale(run, a.client_id), None)
    scope_a, scope_b = row_scope.of_client(a.client_id), row_scope.of_client(b.client_id)
    count = "SELECT count(*) FROM service_tickets"

    async def turns() -> list[tuple[int, int]]:
        db = _one_connection(settings)
        seen: list[tuple[int, int]] = []

        async def look(scope: row_scope.RowScope, *, rollback: bool = False) -> None:
            with row_scope.scoped(scope):
                engine = db.engine if rollback else db.read_engine
                async with engine.connect() as conn:
                    pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                    tickets = (await conn.execute(text(count))).scalar_one()
                    if rollback:
                        await conn.rollback()
                seen.append((pid, tickets))

        async def direct(scope: row_scope.RowScope) -> None:
            with row_scope.scoped(scope):
                found = await db.reads.one(
                    select(ServiceTicket.id).where(ServiceTicket.id == ticket_a)
                )
            seen.append((0, int(found is not None)))

        try:
            await look(scope_a)
            await look(scope_b)
            await look(row_scope.NO_ROWS)
            await look(scope_b)
            await look(scope_a, rollback=True)  # set in a transaction, then rolled back
            await look(scope_a)
            await look(scope_b, rollback=True)
            await direct(scope_b)
            await direct(scope_a)
            await look(scope_b)
        finally:
            await db.dispose()
        return seen

    seen = _call(client, turns)
    pids = {pid for pid, _ in seen if pid}
    assert len(pids) == 1, "the test must reuse one connection"
    assert [tickets for _, tickets in seen] == [1, 0, 0, 0, 1, 1, 0, 0, 1, 0]


def test_requests_run_in_their_callers_scope(client: TestClient, run: Runner) -> None:
    """Through the API: each caller's requests, on the pooled connections of the app, find their
    own client's ticket and not the other's (the application's 404 and the wall agree)."""
    a = register_owner(client)
    b = register_owner(client)
    assert a.client_id is not None and b.client_id is not None
    ticket_a = make_ticket(run, a.client_id, make_locale(run, a.client_id), None)
    for _ in range(3):
        assert client.get(f"/api/v1/tickets/{ticket_a}", headers=a.headers).status_code == 200
        assert client.get(f"/api/v1/tickets/{ticket_a}", headers=b.headers).status_code == 404
        listed = client.get("/api/v1/tickets", headers=b.headers)
        assert listed.status_code == 200 and listed.json()["items"] == []


class _Sent:
    """The statements asyncpg sent on the connections of a ``Database`` (its query log, which
    shows its simple queries and the statements sent straight to it), and the scopes set alone
    through SQLAlchemy (prepared statements, which asyncpg does not log: counted as they go)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.queries: list[str] = []
        self._watched: set[int] = set()
        set_alone = row_scope._set_alone

        def counted(dbapi: Any, scope: row_scope.RowScope) -> None:
            set_alone(dbapi, scope)
            # (Only on the connections watched: the app's jobs may run meanwhile.)
            if id(getattr(dbapi, "_connection", None)) in self._watched:
                self.queries.append(row_scope.SET_SCOPE_SQL)

        monkeypatch.setattr(row_scope, "_set_alone", counted)

    async def watch(self, conn: AsyncConnection) -> int:
        """Log what ``conn``'s driver connection sends; its backend's pid."""
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        if id(driver) not in self._watched:
            self._watched.add(id(driver))
            driver.add_query_logger(lambda record: self.queries.append(record.query))
        pid: int = driver.get_server_pid()
        return pid

    async def take(self) -> list[str]:
        await asyncio.sleep(0)  # (asyncpg hands the log records over with call_soon)
        taken, self.queries = self.queries, []
        return taken


def _set_alone(queries: list[str]) -> int:
    """How many of ``queries`` set a scope in a round trip of their own."""
    return sum(q == row_scope.SET_SCOPE_SQL for q in queries)


def _with_begin(queries: list[str], client_id: uuid.UUID) -> int:
    """How many of ``queries`` are a BEGIN carrying the scope of ``client_id``."""
    return sum(q.startswith("BEGIN") and f"'{client_id}'" in q for q in queries)


def test_a_transactions_begin_carries_the_scope(
    client: TestClient, run: Runner, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first statement of a transaction sets its scope in the BEGIN's round trip. Committed,
    the connection keeps it; rolled back, or after a failed statement, the connection is known to
    carry it no longer, and the next statement (in or out of a transaction) sets it again."""
    a = register_owner(client)
    b = register_owner(client)
    assert a.client_id is not None and b.client_id is not None
    make_ticket(run, a.client_id, make_locale(run, a.client_id), None)
    scope_a, scope_b = row_scope.of_client(a.client_id), row_scope.of_client(b.client_id)
    count = text("SELECT count(*) FROM service_tickets")

    async def turns() -> list[tuple[int, int, int, int]]:
        db = _one_connection(settings)
        sent = _Sent(monkeypatch)
        seen: list[tuple[int, int, int, int]] = []

        async def look(
            scope: row_scope.RowScope, *, end: str = "commit", fail: bool = False
        ) -> None:
            with row_scope.scoped(scope):
                engine = db.read_engine if end == "autocommit" else db.engine
                async with engine.connect() as conn:
                    pids.add(await sent.watch(conn))
                    tickets = (await conn.execute(count)).scalar_one()
                    if fail:
                        with pytest.raises(DBAPIError, match="division by zero"):
                            await conn.execute(text("SELECT 1 / 0"))
                    if end == "commit" and not fail:
                        await conn.commit()
                    elif end != "autocommit":
                        await conn.rollback()
            queries = await sent.take()
            client_id = scope.client_ids[0]
            seen.append(
                (
                    tickets,
                    _with_begin(queries, client_id),
                    _set_alone(queries),
                    sum(q.startswith("BEGIN") for q in queries),
                )
            )

        pids: set[int] = set()
        try:
            await look(scope_a)  # the BEGIN carries A's scope
            await look(scope_a)  # committed: the connection keeps it, a bare BEGIN
            await look(scope_b, end="rollback")  # B's, carried, then rolled back: A's again
            await look(scope_b, end="autocommit")  # no BEGIN: a set_config of its own
            await look(scope_a, fail=True)  # carried, then a failed statement, rolled back
            await look(scope_a, end="autocommit")  # the connection carries B's: set again
            await look(scope_b)  # carried
        finally:
            await db.dispose()
        assert len(pids) == 1, "the test must reuse one connection"
        return seen

    assert _call(client, turns) == [
        (1, 1, 0, 1),
        (1, 0, 0, 1),
        (0, 1, 0, 1),
        (0, 0, 1, 0),
        (1, 1, 0, 1),
        (1, 0, 1, 0),
        (0, 1, 0, 1),
    ]


def test_without_the_begin_speed_up_the_scope_is_set_alone(
    client: TestClient, run: Runner, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = register_owner(client)
    assert a.client_id is not None
    make_ticket(run, a.client_id, make_locale(run, a.client_id), None)

    async def look() -> tuple[int, list[str]]:
        db = Database(
            settings.model_copy(
                update={"database_pool_size": 1, "speedups_off": frozenset({"scope_with_begin"})}
            )
        )
        sent = _Sent(monkeypatch)
        try:
            with row_scope.scoped(row_scope.of_client(a.client_id)):
                async with db.engine.begin() as conn:
                    await sent.watch(conn)
                    tickets = (
                        await conn.execute(text("SELECT count(*) FROM service_tickets"))
                    ).scalar_one()
        finally:
            await db.dispose()
        return tickets, await sent.take()

    tickets, queries = _call(client, look)
    assert tickets == 1
    assert _set_alone(queries) == 1
    assert [q for q in queries if q.startswith("BEGIN")] == ["BEGIN;"]


def test_the_pool_hands_a_caller_the_connection_carrying_its_scope(
    client: TestClient, run: Runner, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clients' callers taking turns on a pool of two connections: after the first turn
    each gets the connection that carries its scope (no set_config); once the pool is full, a
    third scope takes the one idle longest and sets its own. What each sees is its own,
    whichever connection."""
    a = register_owner(client)
    b = register_owner(client)
    assert a.client_id is not None and b.client_id is not None
    ticket_a = make_ticket(run, a.client_id, make_locale(run, a.client_id), None)
    ticket_b = make_ticket(run, b.client_id, make_locale(run, b.client_id), None)
    scope_a, scope_b = row_scope.of_client(a.client_id), row_scope.of_client(b.client_id)
    tickets = text("SELECT id FROM service_tickets")

    async def turns() -> tuple[list[tuple[str, int, set[uuid.UUID], int]], list[int]]:
        db = Database(settings.model_copy(update={"database_pool_size": 2}))
        assert isinstance(db.engine.pool, row_scope.ScopeAffinePool)
        sent = _Sent(monkeypatch)
        seen: list[tuple[str, int, set[uuid.UUID], int]] = []

        async def look(name: str, scope: row_scope.RowScope) -> None:
            with row_scope.scoped(scope):
                async with db.read_engine.connect() as conn:
                    pid = await sent.watch(conn)
                    found = set((await conn.execute(tickets)).scalars())
            seen.append((name, pid, found, _set_alone(await sent.take())))

        async def direct(name: str, scope: row_scope.RowScope, ticket: uuid.UUID) -> None:
            with row_scope.scoped(scope):
                one = await db.reads.one(select(ServiceTicket.id).where(ServiceTicket.id == ticket))
            found = set() if one is None else {one["id"]}
            seen.append((name, 0, found, _set_alone(await sent.take())))

        try:
            await look("a", scope_a)
            # No idle connection carries B's scope and the pool has room: a second one is
            # opened rather than A's taken.
            await look("b", scope_b)
            pid_a, pid_b = seen[0][1], seen[1][1]
            for _ in range(3):
                await look("a", scope_a)
                await look("b", scope_b)
                await direct("a", scope_a, ticket_a)
                await direct("b", scope_b, ticket_b)
                await direct("b", scope_b, ticket_a)
            await look("none", row_scope.NO_ROWS)
            await look("a", scope_a)
            await look("b", scope_b)
        finally:
            await db.dispose()
        return seen, [pid_a, pid_b]

    seen, (pid_a, pid_b) = _call(client, turns)
    assert pid_a != pid_b
    expected: list[tuple[str, int, set[uuid.UUID], int]] = [
        ("a", pid_a, {ticket_a}, 1),
        ("b", pid_b, {ticket_b}, 1),
    ]
    for _ in range(3):
        expected += [
            ("a", pid_a, {ticket_a}, 0),
            ("b", pid_b, {ticket_b}, 0),
            ("a", 0, {ticket_a}, 0),
            ("b", 0, {ticket_b}, 0),
            ("b", 0, set(), 0),
        ]
    # The pool is full. A third scope: no idle connection carries it; it takes the one idle
    # longest (A's, returned before B's), which then carries NO_ROWS. A's next caller finds
    # none carrying A's either and takes B's; B's caller, the first one.
    expected += [
        ("none", pid_a, set(), 1),
        ("a", pid_b, {ticket_a}, 1),
        ("b", pid_a, {ticket_b}, 1),
    ]
    assert seen == expected
