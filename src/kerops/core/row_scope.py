"""The second wall: which clients' rows the database itself lets the current caller see.

On PostgreSQL every table with a ``client_id`` has a row-level security policy (migration 0016):
a row is visible, and may be written, when the connection's scope is the platform's, when the
row belongs to no client (KER's catalogue, its vendor network), or when its client is one of the
scope's clients. The service connects as a role that owns no table, so the policies apply to
every statement it sends, whatever the application's own rules (``kerops.core.access``) did.

The scope lives in a context variable, set where the caller becomes known: the principal
dependencies (``kerops.core.deps``) set the caller's scope, the authenticator runs in the
platform scope (it must find a user or a key before knowing whose it is), jobs run in the
platform scope, device ingestion in its device's client. Nothing set means no client's rows
(fail closed).

The connection carries it as four settings (``kerops.platform``, ``kerops.client_ids``,
``kerops.vendor_id``, ``kerops.user_id``), set with ``set_config(..., false)`` before a
statement only when they differ from what the connection carries already (tracked in the pool
record's ``info``). A pooled connection therefore never runs a statement with another caller's
scope: whoever uses it next overwrites it before its first statement. A rolled-back transaction
undoes a ``set_config`` made in it, so a rollback forgets what the connection carries (the next
statement sets it again); so does a failed statement (``handle_error``), whatever it did. Reads
that run in AUTOCOMMIT commit the setting at once.

Setting it costs no round trip of its own in two cases:

- **with the transaction's BEGIN** (speed-up ``scope_with_begin``): when the statement that needs
  the scope is the first of a transaction, the ``BEGIN`` that SQLAlchemy's asyncpg adapter sends
  in its own round trip (a simple query) carries the ``set_config`` after it, in the same
  message (``ScopedConnection``). Whether it did is checked before the statement is sent; if it
  did not, the scope is set in a round trip of its own, as before;
- **a connection that carries it already** (speed-up ``scope_affinity``): the pool
  (``ScopeAffinePool``) hands a caller the idle connection that last served its scope, if there
  is one; else, while it holds fewer connections than its size, a new one for the scope; else
  the one idle longest (the pool's usual order). It changes only which connection is handed
  out, never what a statement runs under: the check above still runs.

Reads sent outside a transaction (the lean reads straight to asyncpg, the list's pages in
AUTOCOMMIT) have no BEGIN to carry it: asyncpg sends one statement per round trip (no
pipelining of two statements; its simple query returns no rows), and a ``set_config`` inside the
read itself would run in the same statement as the policies that read it, in an order PostgreSQL
does not promise. When no idle connection carries their scope, they pay the round trip.

A vendor admin's or technician's clients are not listed by the application: the policy's
``kerops_assigned_clients()`` adds its vendor's client (a client's own vendor) and the clients of
the tickets assigned to its vendor or (a technician) to itself, computed by PostgreSQL once per
statement, so it is never stale.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_, memoized_property
from sqlalchemy.util.queue import AsyncAdaptedQueue

from kerops.core.enums import UserRole
from kerops.core.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import ExceptionContext

#: What a connection carries, in its pool record's ``info``.
SCOPE_KEY = "kerops_row_scope"
#: The four settings, in ``SET_SCOPE_SQL``'s order.
SETTINGS = ("kerops.platform", "kerops.client_ids", "kerops.vendor_id", "kerops.user_id")
#: One round trip sets the four settings (``false``: for the session, not the transaction).
SET_SCOPE_SQL = (
    "SELECT set_config('kerops.platform', $1, false), set_config('kerops.client_ids', $2, false), "
    "set_config('kerops.vendor_id', $3, false), set_config('kerops.user_id', $4, false)"
)


@dataclass(frozen=True, slots=True)
class RowScope:
    """The rows a caller's statements may see: the platform's (all), or those of its clients
    (and of the clients of the work assigned to its vendor or to itself)."""

    platform: bool = False
    client_ids: tuple[uuid.UUID, ...] = ()
    vendor_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None

    @property
    def literal_sql(self) -> str:
        """``SET_SCOPE_SQL`` with the values written in (for a simple query, which takes no
        parameters). The values are ids, ``on`` and commas; quotes are doubled all the same."""
        return "SELECT " + ", ".join(
            f"set_config('{name}', '{value.replace(chr(39), chr(39) * 2)}', false)"
            for name, value in zip(SETTINGS, self.values, strict=True)
        )

    @property
    def values(self) -> tuple[str, str, str, str]:
        """The four settings' values, in ``SET_SCOPE_SQL``'s order."""
        return (
            "on" if self.platform else "",
            ",".join(str(c) for c in self.client_ids),
            "" if self.vendor_id is None else str(self.vendor_id),
            "" if self.user_id is None else str(self.user_id),
        )


_TRANSACTION_CONTROL = ("SAVEPOINT", "ROLLBACK", "RELEASE")

#: No client's rows (what a connection carries when nobody set a scope).
NO_ROWS = RowScope()
#: Every row: platform staff, jobs, and the look-ups that must cross clients (a user by email).
PLATFORM = RowScope(platform=True)

_SCOPE: ContextVar[RowScope] = ContextVar("kerops_row_scope", default=NO_ROWS)


def current() -> RowScope:
    """The scope of the current task."""
    return _SCOPE.get()


def use(scope: RowScope) -> Token[RowScope]:
    """Make ``scope`` the current task's (for the rest of a request, a job, a message)."""
    return _SCOPE.set(scope)


def reset(token: Token[RowScope]) -> None:
    """Restore the scope ``use`` replaced."""
    _SCOPE.reset(token)


@contextmanager
def scoped(scope: RowScope) -> Iterator[None]:
    """``scope`` within the block, the previous one after it."""
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def platform() -> Any:
    """The platform scope within the block (``with row_scope.platform(): ...``)."""
    return scoped(PLATFORM)


def of_client(client_id: uuid.UUID | None) -> RowScope:
    """The rows of one client (a device's, a new client's)."""
    return NO_ROWS if client_id is None else RowScope(client_ids=(client_id,))


def of_principal(principal: Principal) -> RowScope:
    """The rows ``principal`` may reach: everything for platform staff; else its client's, and
    for a vendor admin or a technician those of its vendor's client (a client's own vendor) and
    of the clients whose tickets are assigned to its vendor or (a technician) to itself."""
    if principal.is_staff:
        return PLATFORM
    clients = () if principal.client_id is None else (principal.client_id,)
    if principal.role is UserRole.vendor_admin:
        return RowScope(client_ids=clients, vendor_id=principal.vendor_id)
    if principal.role is UserRole.technician:
        return RowScope(
            client_ids=clients, vendor_id=principal.vendor_id, user_id=principal.user_id
        )
    return RowScope(client_ids=clients)


# --- carrying the scope on connections -----------------------------------------------------------


def needs(info: MutableMapping[Any, Any]) -> RowScope | None:
    """The current scope, if a connection with pool record ``info`` does not carry it yet."""
    scope = _SCOPE.get()
    carried = info.get(SCOPE_KEY)
    if carried is scope or carried == scope:
        return None
    return scope


def carry_with_begin(engine: AsyncEngine) -> None:
    """Open the engine's asyncpg connections as ``ScopedConnection``s, so that a transaction's
    BEGIN can carry the scope. Call it before any other ``do_connect`` listener that opens the
    connection itself (the first listener to return one wins)."""
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg":
        event.listen(engine.sync_engine, "do_connect", _connect_scoped)


def install(engine: AsyncEngine) -> None:
    """Set the current scope on the engine's connections before their statements (PostgreSQL
    only: SQLite has no row-level security, and one process's file has no other tenant): in the
    round trip of a transaction's BEGIN when the connection can carry it (``carry_with_begin``),
    else in one of its own."""
    if engine.dialect.name != "postgresql":
        return
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", _apply)
    event.listen(sync_engine, "rollback", _forget)
    event.listen(sync_engine, "rollback_savepoint", _forget_savepoint)
    event.listen(sync_engine, "handle_error", _forget_on_error)
    event.listen(sync_engine.pool, "reset", _forget_on_reset)


def _connect_scoped(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    cparams["connection_class"] = ScopedConnection


def carries_scope_with_begin(engine: AsyncEngine) -> bool:
    """Whether the engine's new connections can carry a scope with their BEGIN."""
    return event.contains(engine.sync_engine, "do_connect", _connect_scoped)


def _apply(conn: Connection, _cursor: Any, sql: str, _params: Any, _ctx: Any, _many: bool) -> None:
    info = conn.info
    scope = needs(info)
    if scope is None or sql.startswith(_TRANSACTION_CONTROL):
        # (Savepoints touch no row, and after an error only their rollback may run.)
        return
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    # Whatever happens next, the connection is no longer known to carry its old scope.
    info.pop(SCOPE_KEY, None)
    if not _with_begin(dbapi, scope):
        _set_alone(dbapi, scope)
    info[SCOPE_KEY] = scope


def _set_alone(dbapi: Any, scope: RowScope) -> None:
    """Set ``scope`` on a DBAPI connection in a round trip of its own."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(SET_SCOPE_SQL, scope.values)
    finally:
        cursor.close()


def _with_begin(adapted: Any, scope: RowScope) -> bool:
    """Start the transaction the statement about to be sent would start, with ``scope``'s
    ``set_config`` in the same round trip as its ``BEGIN``; whether it did (if not, nothing was
    sent, or a transaction is open already: the caller sets the scope in a round trip of its
    own). Only on a ``ScopedConnection`` whose adapter has no transaction yet and is not in
    AUTOCOMMIT (it would send the statement alone, without a BEGIN)."""
    driver: Any = getattr(adapted, "_connection", None)
    # (Not isinstance: asyncpg's metaclass calls every connection an instance of any subclass
    # of its Connection.)
    if (
        ScopedConnection not in type(driver).__mro__
        or getattr(adapted, "_transaction", False) is not None
        or getattr(adapted, "isolation_level", None) == "autocommit"
        or driver.is_in_transaction()
    ):
        return False
    start = getattr(adapted, "_start_transaction", None)
    if start is None:
        return False
    driver.carry(scope.literal_sql)
    try:
        await_(start())
    finally:
        carried = driver.carried()
    # (If the adapter had not started one, nothing was sent: the statement would begin it.)
    return carried and getattr(adapted, "_transaction", None) is not None


class ScopedConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection whose next ``BEGIN`` can carry a scope's ``set_config`` in the same
    simple query (one round trip instead of two; speed-up ``scope_with_begin``). asyncpg starts
    a transaction with ``Connection.execute("BEGIN ...;")`` (``Transaction.start``)."""

    __slots__ = ("_kerops_carried", "_kerops_carry")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kerops_carry: str | None = None
        self._kerops_carried = False

    def carry(self, sql: str) -> None:
        """Send ``sql`` after the next ``BEGIN``, if it is the next statement."""
        self._kerops_carry = sql
        self._kerops_carried = False

    def carried(self) -> bool:
        """Whether ``carry``'s statement went with a ``BEGIN`` (and forget it)."""
        carried, self._kerops_carried = self._kerops_carried, False
        self._kerops_carry = None
        return carried

    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109  (asyncpg's own signature)
    ) -> str:
        extra, self._kerops_carry = self._kerops_carry, None
        if extra is not None and not args and query.startswith("BEGIN"):
            query = f"{query.rstrip().rstrip(';')}; {extra};"
            self._kerops_carried = True
        result: str = await super().execute(query, *args, timeout=timeout)
        return result


class _AffineQueue(asyncio.Queue[Any]):
    """The pool's idle connections: a caller gets the one that last served its scope (the most
    recently returned of them), else the one idle longest, as the pool's usual queue would."""

    _queue: deque[Any]

    def holds(self, scope: RowScope) -> bool:
        """Whether an idle connection carries ``scope``."""
        return any(record.info.get(SCOPE_KEY) == scope for record in self._queue)

    def _get(self) -> Any:
        idle = self._queue
        wanted = _SCOPE.get()
        for index in range(len(idle) - 1, -1, -1):
            if idle[index].info.get(SCOPE_KEY) == wanted:
                record = idle[index]
                del idle[index]
                return record
        return idle.popleft()


class _AffineAdaptedQueue(AsyncAdaptedQueue[Any]):
    @memoized_property
    def _queue(self) -> asyncio.Queue[Any]:
        return _AffineQueue(maxsize=self.maxsize)


class ScopeAffinePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's pool for asyncio, handing a caller an idle connection that carries its scope
    when there is one (speed-up ``scope_affinity``). When none does and the pool holds fewer
    connections than its size, it opens one for the scope rather than take another scope's (so
    up to the pool's size, each scope in use keeps a connection of its own); when it is full, it
    hands out the connection idle longest. Requests of clients taking turns then need no
    ``set_config`` round trip while there are no more scopes in use than connections. Which
    connection is handed out is all it changes: each statement still checks what its
    connection carries."""

    _queue_class = _AffineAdaptedQueue

    def _do_get(self) -> ConnectionPoolEntry:
        idle = self._pool._queue  # type: ignore[attr-defined]
        if (
            self._max_overflow >= 0
            and self._overflow < 0  # fewer connections than the pool's size
            and isinstance(idle, _AffineQueue)
            and not idle.holds(_SCOPE.get())
            and self._inc_overflow()
        ):
            try:
                return self._create_connection()
            except BaseException:
                self._dec_overflow()
                raise
        return super()._do_get()


def _forget(conn: Connection) -> None:
    # A rolled-back transaction undoes the set_config made in it. Reads in AUTOCOMMIT have
    # committed theirs already.
    if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        conn.info.pop(SCOPE_KEY, None)


def _forget_savepoint(conn: Connection, _name: str, _context: Any) -> None:
    conn.info.pop(SCOPE_KEY, None)


def _forget_on_error(context: ExceptionContext) -> None:
    # A failed statement (or BEGIN, or set_config) may have left anything behind: the next
    # statement sets the scope again.
    conn = context.connection
    if conn is None or conn.closed or conn.invalidated:
        return  # (an invalidated connection's record forgets everything anyway)
    conn.info.pop(SCOPE_KEY, None)


def _forget_on_reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
    # A connection given back inside a transaction (not ended by its user) is rolled back by
    # the pool, which undoes a set_config made in that transaction.
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_in_transaction():
        record.info.pop(SCOPE_KEY, None)


def uninstall(engine: AsyncEngine) -> None:
    """Stop setting scopes on the engine's connections (``bench/rls_cost.py`` measures the app
    without the wall; nothing else calls it). Its connections stay ``ScopedConnection``s, which
    carry nothing unless asked."""
    sync_engine = engine.sync_engine
    for name, fn in (
        ("before_cursor_execute", _apply),
        ("rollback", _forget),
        ("rollback_savepoint", _forget_savepoint),
        ("handle_error", _forget_on_error),
    ):
        if event.contains(sync_engine, name, fn):
            event.remove(sync_engine, name, fn)
    if event.contains(sync_engine.pool, "reset", _forget_on_reset):
        event.remove(sync_engine.pool, "reset", _forget_on_reset)


async def apply_raw(driver_connection: Any, info: MutableMapping[Any, Any]) -> None:
    """Set the current scope on an asyncpg connection used straight (not through SQLAlchemy's
    statements), whose pool record's ``info`` is ``info``."""
    scope = needs(info)
    if scope is None:
        return
    info.pop(SCOPE_KEY, None)
    await driver_connection.fetchval(SET_SCOPE_SQL, *scope.values)
    info[SCOPE_KEY] = scope


async def apply(connection: AsyncConnection) -> None:
    """Set the current scope on ``connection`` before its driver connection is used straight."""
    if connection.dialect.name != "postgresql":
        return
    raw = await connection.get_raw_connection()
    await apply_raw(raw.driver_connection, raw.info)
