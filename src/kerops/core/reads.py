"""Lean reads: the statement runner and the reader of routes that only show data.

A route that only shows one document does not need the request's unit of work: no ORM object,
no identity map, no audit, nothing to commit. What it needs is the caller (``Reader.principal``,
resolved by ``kerops.core.deps.get_reader`` without opening a session when the principal is
cached) and one SELECT built by the same access rules as every other route
(``kerops.core.access``). ``StatementRunner`` runs such a SELECT:

- on PostgreSQL straight on the asyncpg connection borrowed from the engine's pool: the statement
  is compiled by SQLAlchemy once (the same text SQLAlchemy would send), its parameters and
  result values go through the same SQLAlchemy type processors (enums, JSON, numerics), only
  the execution layer (execution context, cursor and result objects) is skipped — half of a
  ticket read's CPU with the session dependency (``bench/get_floor.py``);
- on SQLite, for statements whose SQL depends on their parameters (expanding ``IN``), and with
  the ``direct_reads`` speed-up switched off (``kerops.speedups``), through SQLAlchemy Core on a
  connection of the read engine.

The direct path relies on SQLAlchemy internals (``SQLCompiler.positiontup``, ``binds``,
``construct_params``, the types' ``dialect_impl`` processors, ``Pool._invalidate``) and asyncpg's
``prepare``/``fetchrow``: ``tests/speedups/test_direct_reads.py`` fails when they change.

``StatementRunner.all`` runs a statement built per request (a filtered page of a list) through
SQLAlchemy Core on a read connection: rows, not ORM objects, and no session. Within
``StatementRunner.sharing()`` the statements that go through Core share one read connection
(on SQLite one transaction, one ``BEGIN``), opened when the first of them runs.

Statements sent straight are not seen by the engine's ``before_cursor_execute`` listeners:
whoever counts statements subscribes to ``StatementRunner.listeners`` as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVarTuple

import asyncpg
from pydantic import BaseModel
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Select
from sqlalchemy.util import greenlet_spawn
from starlette.responses import Response

from kerops.core import row_scope
from kerops.core.errors import DatabaseUnavailable, is_database_unavailable

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
    """Runs the SELECTs of read-only routes (see the module's description)."""

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
    """The caller of a read-only route and the runner of its statements."""

    principal: Principal
    runner: StatementRunner


def document(schema: type[BaseModel], data: Mapping[str, Any]) -> Response:
    """``data`` validated into ``schema`` and sent as its JSON (what FastAPI does with a
    ``response_model``, without validating the model a second time)."""
    model = schema.model_validate(data)
    body = schema.__pydantic_serializer__.to_json(model, by_alias=True)
    return Response(content=body, media_type="application/json")
