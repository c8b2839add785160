"""Reads: the one API of routes that only show data, and the two executors behind it.

A route that only shows data does not need the request's unit of work: no ORM object, no
identity map, no audit, nothing to commit. It takes ``ReaderDep`` (``kerops.core.deps``): a
``Reader``, the caller (resolved without opening a session when the principal is cached) and the
app's ``StatementRunner``. It asks the reader for what it shows, always the same way:

- one object as a ``Document`` (``kerops.core.documents``): ``reader.respond(DOCUMENT, id)``;
- a page of a model: ``reader.rows(Model)`` (its columns, limited by the access rules of
  ``kerops.core.access``), filtered, ``reader.page(...)`` for one keyset page, then
  ``reader.respond_page(DOCUMENT, items, cursor)``.

Which executor runs a statement is the runner's choice, from the database and the
``direct_reads`` speed-up switch (``kerops.speedups``), never the route's:

- **direct** (PostgreSQL through asyncpg, ``direct_reads`` on): a statement built once and reused
  (the scoped SELECTs of ``kerops.core.access``, kept per shape of caller) is compiled by
  SQLAlchemy once (the same text SQLAlchemy would send), its parameters and result values go
  through the same SQLAlchemy type processors (enums, JSON, numerics), and it is sent with
  asyncpg's ``fetchrow`` on a connection borrowed from the engine's pool: the execution layer
  (execution context, cursor and result objects) is skipped (``bench/get_floor.py``);
- **Core** (SQLite; ``direct_reads`` off; a statement whose SQL depends on its parameters, such
  as an expanding ``IN``; every statement built per request, such as a filtered page, whose
  compiled form SQLAlchemy's cache finds by its structure): SQLAlchemy Core on a connection of
  the read engine. Rows, not ORM objects, and no session.

Within ``Reader.sharing()`` the statements that go through Core share one read connection (on
SQLite one transaction, one ``BEGIN``), opened when the first of them runs.

The direct path relies on SQLAlchemy internals (``SQLCompiler.positiontup``, ``binds``,
``construct_params``, the types' ``dialect_impl`` processors, ``Pool._invalidate``) and asyncpg's
``prepare``/``fetchrow``: ``tests/speedups/test_direct_reads.py`` fails when they change.

Statements sent straight are not seen by the engine's ``before_cursor_execute`` listeners:
whoever counts statements subscribes to ``StatementRunner.listeners`` as well.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVarTuple

import asyncpg
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import Select
from sqlalchemy.util import greenlet_spawn
from starlette.responses import Response

from kerops.core import access, row_scope
from kerops.core.documents import Document
from kerops.core.errors import DatabaseUnavailable, NotFound, is_database_unavailable
from kerops.core.models import Base
from kerops.core.pagination import PageParams, paginate

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.engine.interfaces import _CoreSingleExecuteParams
    from sqlalchemy.sql.compiler import SQLCompiler

    from kerops.core.principal import Principal

#: Compiled statements kept per runner (a statement object is built once per shape of caller).
MAX_STATEMENTS = 2048

Processor = Callable[[Any], Any] | None

_Ts = TypeVarTuple("_Ts")
#: A SELECT of any columns.
AnySelect = Select[*tuple[Any, ...]]


class _Plan:
    """One statement compiled for the driver: its text, how to order and convert its parameters,
    and how to convert the values of a row (learnt from the driver's column types)."""

    __slots__ = ("binds", "compiled", "keys", "names", "results", "sql", "statement")

    def __init__(self, statement: AnySelect, dialect: Dialect) -> None:
        compiled: SQLCompiler = statement.compile(dialect=dialect)  # type: ignore[assignment]
        self.statement = statement  # kept, so its id is not reused while the plan lives
        self.compiled = compiled
        self.sql = compiled.string
        self.names: Sequence[str] = tuple(compiled.positiontup or ())
        self.binds: tuple[Processor, ...] = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.names
        )
        self.keys: tuple[str, ...] = tuple(statement.selected_columns.keys())
        self.results: tuple[Processor, ...] | None = None

    def arguments(self, params: _CoreSingleExecuteParams) -> list[Any]:
        values = self.compiled.construct_params(params, _check=False)
        arguments = []
        for name, process in zip(self.names, self.binds, strict=True):
            value = values[name]
            arguments.append(value if process is None else process(value))
        return arguments

    def learn_results(self, type_oids: Sequence[int], dialect: Dialect) -> None:
        columns = self.statement.selected_columns
        self.results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, oid)
            for column, oid in zip(columns, type_oids, strict=True)
        )

    def document(self, row: Sequence[Any]) -> dict[str, Any]:
        assert self.results is not None
        return {
            key: value if process is None else process(value)
            for key, process, value in zip(self.keys, self.results, row, strict=True)
        }


class _Shared:
    """The read connection the statements of one ``StatementRunner.sharing`` block run on."""

    __slots__ = ("connection", "runner", "stack")

    def __init__(self, runner: StatementRunner, stack: AsyncExitStack) -> None:
        self.runner = runner
        self.stack = stack
        self.connection: AsyncConnection | None = None


#: The ``sharing`` block the current task is in, if any.
_SHARED: ContextVar[_Shared | None] = ContextVar("kerops_reads_shared", default=None)


class StatementRunner:
    """Runs the SELECTs of reads through one of the two executors (see the module's
    description)."""

    def __init__(
        self, engine: AsyncEngine, *, max_statements: int = MAX_STATEMENTS, direct: bool = True
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        #: Whether statements go straight to the driver (PostgreSQL through asyncpg, unless the
        #: ``direct_reads`` speed-up is switched off: then through SQLAlchemy Core, as on SQLite).
        self.direct = direct and engine.dialect.driver == "asyncpg"
        #: Whether the statements sent straight carry the caller's scope (``row_scope``; those
        #: through SQLAlchemy get it from the engine's listener).
        self.scoped = engine.dialect.name == "postgresql"
        #: Called with the text of every statement sent straight to the driver.
        self.listeners: list[Callable[[str], object]] = []
        self.max_statements = max_statements
        self._plans: dict[int, _Plan] = {}

    def __len__(self) -> int:
        return len(self._plans)

    def _plan(self, statement: AnySelect) -> _Plan | None:
        plan = self._plans.get(id(statement))
        if plan is not None and plan.statement is statement:
            return plan
        plan = _Plan(statement, self.dialect)
        if plan.compiled.post_compile_params or plan.compiled.literal_execute_params:
            return None  # its text depends on the values: SQLAlchemy renders it each time
        if len(self._plans) >= self.max_statements:
            self._plans.clear()
        self._plans[id(statement)] = plan
        return plan

    @asynccontextmanager
    async def sharing(self) -> AsyncIterator[None]:
        """Within the block, the statements of this task that go through SQLAlchemy Core share
        one read connection, opened by the first of them (several statements of one answer:
        on SQLite one transaction and one ``BEGIN`` instead of one each). Nested blocks share
        the outer one's."""
        outer = _SHARED.get()
        if outer is not None and outer.runner is self:
            yield
            return
        async with AsyncExitStack() as stack:
            token = _SHARED.set(_Shared(self, stack))
            try:
                yield
            finally:
                _SHARED.reset(token)

    async def _connection(self) -> AsyncConnection | None:
        """The connection of the current ``sharing`` block (opened now if need be), or None."""
        shared = _SHARED.get()
        if shared is None or shared.runner is not self:
            return None
        if shared.connection is None:
            shared.connection = await shared.stack.enter_async_context(self.engine.connect())
        return shared.connection

    async def one(
        self, statement: AnySelect, params: _CoreSingleExecuteParams | None = None
    ) -> dict[str, Any] | None:
        """The first row of ``statement`` as a dict by column name, or None. For statements
        built once and reused: a plan is kept per statement object."""
        params = params or {}
        plan = self._plan(statement) if self.direct else None
        if plan is None:
            shared = await self._connection()
            if shared is not None:
                first = (await shared.execute(statement, params)).mappings().first()
                return None if first is None else dict(first)
            async with self.engine.connect() as connection:
                row = (await connection.execute(statement, params)).mappings().first()
            return None if row is None else dict(row)
        arguments = plan.arguments(params)
        for listener in self.listeners:
            listener(plan.sql)
        found = await self._fetchrow(plan, arguments)
        return None if found is None else plan.document(found)

    async def all(
        self, statement: Select[*_Ts], params: _CoreSingleExecuteParams | None = None
    ) -> Sequence[Row[*_Ts]]:
        """Every row of ``statement``, through SQLAlchemy Core on a read connection: for
        statements built per request (a filtered page), whose compiled form SQLAlchemy's cache
        finds by the statement's structure. No session, no ORM objects."""
        shared = await self._connection()
        if shared is not None:
            return (await shared.execute(statement, params or {})).all()
        async with self.engine.connect() as connection:
            rows = (await connection.execute(statement, params or {})).all()
        return rows

    async def _fetchrow(self, plan: _Plan, arguments: list[Any]) -> Sequence[Any] | None:
        pooled = await self.engine.raw_connection()
        healthy = False
        lost: Exception | None = None
        try:
            connection = pooled.driver_connection
            assert connection is not None
            if self.scoped:
                # The caller's scope, unless the connection carries it already (no round trip).
                await row_scope.apply_raw(connection, pooled.info)
            if plan.results is None:
                prepared = await connection.prepare(plan.sql)
                plan.learn_results([a.type.oid for a in prepared.get_attributes()], self.dialect)
            row: Sequence[Any] | None = await connection.fetchrow(plan.sql, *arguments)
            healthy = True
            return row
        except Exception as exc:
            # An error the server reported leaves the connection usable; anything else (a
            # lost connection, a protocol error) does not.
            healthy = isinstance(exc, asyncpg.PostgresError)
            if is_database_unavailable(exc):
                lost = exc
                raise DatabaseUnavailable() from exc
            raise
        finally:
            if lost is not None:
                # The server went away (or refuses this connection): the pool's other
                # connections are as dead as this one. Replace them all on their next checkout,
                # as SQLAlchemy does when its own statement finds the connection lost.
                await greenlet_spawn(self.engine.pool._invalidate, pooled, lost)
            elif not healthy:
                # Cancelled mid-statement, or broken: never hand it to another request.
                await greenlet_spawn(pooled.invalidate)
            await greenlet_spawn(pooled.close)


@dataclass(frozen=True, slots=True)
class Reader:
    """The read API of routes that only show data: the caller and the runner of their
    statements. A route asks it for an object, or a page of a scoped, filtered select, as a
    ``Document``'s JSON; the same call whatever runs it (the runner picks the executor from the
    database and the ``direct_reads`` switch). Every statement is limited by the access rules
    (``kerops.core.access``), as every other read."""

    principal: Principal
    runner: StatementRunner

    def rows(self, model: type[Base]) -> AnySelect:
        """A SELECT of ``model``'s columns limited to the rows the caller may read: the base
        of a list, to filter and hand to ``page``."""
        return access.scoped_rows(model, self.principal)

    async def row(
        self, model: type[Base], object_id: uuid.UUID, action: access.Action = "read"
    ) -> dict[str, Any]:
        """One object the caller may ``action``, its columns by name; 404 as ``get_scoped``
        (the same rules, the same statement, built once per kind of caller)."""
        statement = access.row_statement(model, self.principal, action)
        found = await self.runner.one(statement, {"object_id": object_id})
        if found is None:
            raise NotFound(access.not_found_detail(model))
        return found

    async def page(
        self,
        statement: AnySelect,
        params: PageParams,
        *,
        sort_fields: Mapping[str, InstrumentedAttribute[Any]],
        id_column: InstrumentedAttribute[Any],
        default_sort: str = "id",
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One keyset page of ``statement`` (``rows`` of a model, filtered): each row's columns
        by name, and the next page's cursor (``kerops.core.pagination.paginate``)."""
        rows, cursor = await paginate(
            self.runner,
            statement,
            params,
            sort_fields=sort_fields,
            id_column=id_column,
            default_sort=default_sort,
        )
        return list(rows), cursor

    async def readable_ids(self, model: type[Base], ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``ids`` the caller may read (of the objects that exist): one statement for
        any number of ids, none for no ids."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        statement = access.readable_statement(model, self.principal, self.runner.dialect.name)
        return {row[0] for row in await self.runner.all(statement, {"object_ids": wanted})}

    def sharing(self) -> AbstractAsyncContextManager[None]:
        """The statements of the block share one read connection (``StatementRunner.sharing``)."""
        return self.runner.sharing()

    async def respond(self, document: Document, object_id: uuid.UUID) -> Response:
        """The object the caller may read as ``document``'s JSON (404 as ``get_scoped``)."""
        if document.shown is None:
            return document.render(await self.row(document.model, object_id))
        async with self.runner.sharing():  # the row and what ``shown`` reads: one connection
            row = await self.row(document.model, object_id)
            [row] = await document.shown(self, [row])
        return document.render(row)

    async def respond_row(self, document: Document, row: Mapping[str, Any]) -> Response:
        """An object already read (``row``, e.g. a child checked against its parent) as
        ``document``'s JSON."""
        if document.shown is not None:
            [row] = await document.shown(self, [dict(row)])
        return document.render(row)

    async def respond_page(
        self, document: Document, items: Sequence[Mapping[str, Any]], cursor: str | None
    ) -> Response:
        """A page of objects (each its columns by name, from ``page``) as ``document``'s JSON
        (read the page within ``sharing()`` for the document's ``shown`` to read on its
        connection)."""
        if document.shown is not None:
            items = await document.shown(self, [dict(item) for item in items])
        return document.render_page(items, cursor)
