"""Engine, sessions and the unit of work: one transaction per request, committed or rolled back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import NullPool

from kerops import speedups
from kerops.config import Settings
from kerops.core import row_scope
from kerops.core.errors import Conflict, DatabaseUnavailable, is_database_unavailable
from kerops.core.job_outbox import RELAY_AFTER_KEY
from kerops.core.principal import PrincipalCache
from kerops.core.reads import StatementRunner

READ_ONLY_OPTION = "kerops_read_only"
PRINCIPALS_KEY = "kerops_principals"
_AUTH_CHANGED_KEY = "kerops_auth_changed"
#: Tables whose changes make cached principals stale (a client's default language is in them).
_AUTH_TABLES = frozenset({"users", "refresh_tokens", "api_keys", "clients"})


def create_engine(settings: Settings, *, null_pool: bool = False) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, busy timeout, foreign keys, BEGIN IMMEDIATE."""
    url = settings.resolved_database_url
    kwargs: dict[str, Any] = {}
    if null_pool:
        kwargs["poolclass"] = NullPool
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if not null_pool:
        # Connections are opened as needed up to the pool size, then kept: an "overflow" beyond
        # a smaller pool would be closed on its return, and every burst of concurrent requests
        # would open (and PostgreSQL start a backend for) new ones again. Beyond the size a
        # request waits for a free connection. No pre-ping (it costs a round trip per request);
        # stale connections are recycled instead.
        kwargs.update(
            pool_size=settings.database_pool_size,
            max_overflow=0,
            pool_recycle=1800,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        if speedups.enabled(settings, "scope_affinity"):
            # A caller gets an idle connection carrying its row scope when there is one.
            kwargs["poolclass"] = row_scope.ScopeAffinePool
    # asyncpg waits 60 s for a connection by default; an unreachable server answers 503 sooner.
    kwargs["connect_args"] = {"timeout": settings.database_connect_timeout_seconds}
    engine = create_async_engine(url, **kwargs)
    if speedups.enabled(settings, "scope_with_begin"):
        # A transaction's BEGIN carries the row scope (first: the next listener connects).
        row_scope.carry_with_begin(engine)
    _report_unreachable(engine)
    return engine


def _report_unreachable(engine: AsyncEngine) -> None:
    """A connection the server refuses, times out or will not serve raises ``DatabaseUnavailable``
    (503 with ``Retry-After``): asyncpg's ``OSError``s would otherwise escape SQLAlchemy
    unwrapped, as errors no handler expects."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as exc:
            if is_database_unavailable(exc):
                raise DatabaseUnavailable() from exc
            raise


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front, so a read never has to upgrade (aiosqlite#251).
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine and the two session factories (read-only and read-write) of one app."""

    def __init__(self, settings: Settings, *, null_pool: bool = False) -> None:
        self.settings = settings
        self.engine = create_engine(settings, null_pool=null_pool)
        # The caller's scope goes with every statement (row-level security on PostgreSQL).
        row_scope.install(self.engine)
        read_options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if not settings.is_sqlite:
            # Reads need no BEGIN/COMMIT round trips: each statement sees committed data.
            # (SQLite keeps a deferred BEGIN: one snapshot for the request, no writer lock.)
            read_options["isolation_level"] = "AUTOCOMMIT"
        #: Whether read sessions run without a transaction (nothing to commit at their end).
        self.reads_autocommit = not settings.is_sqlite
        self.read_engine = self.engine.execution_options(**read_options)
        self.principals = PrincipalCache(settings.principal_cache_seconds)
        info: dict[str, Any] = {
            PRINCIPALS_KEY: self.principals,
            RELAY_AFTER_KEY: settings.job_relay_after_seconds,
        }
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, autoflush=True, info=info
        )
        self.read_sessions = async_sessionmaker(
            self.read_engine, expire_on_commit=False, autoflush=True, info=info
        )
        #: The SELECTs of read-only routes, without a session (``kerops.core.reads``).
        self.reads = StatementRunner(
            self.read_engine, direct=speedups.enabled(settings, "direct_reads")
        )

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


# --- cached principals go stale when users, sign-in sessions or API keys change ------------------


def _table_of(obj: object) -> str | None:
    return getattr(obj, "__tablename__", None)


@event.listens_for(Session, "after_flush")
def _note_auth_rows(session: Session, _flush_context: UOWTransaction) -> None:
    if PRINCIPALS_KEY in session.info and any(
        _table_of(obj) in _AUTH_TABLES for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_AUTH_CHANGED_KEY] = True


@event.listens_for(Session, "do_orm_execute")
def _note_auth_statements(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and PRINCIPALS_KEY in state.session.info:
        mapper = state.bind_mapper
        if mapper is not None and _table_of(mapper.class_) in _AUTH_TABLES:
            state.session.info[_AUTH_CHANGED_KEY] = True


@event.listens_for(Session, "after_commit")
def _forget_principals(session: Session) -> None:
    if session.info.pop(_AUTH_CHANGED_KEY, False):
        cache = session.info.get(PRINCIPALS_KEY)
        if isinstance(cache, PrincipalCache):
            cache.clear()


async def flush_or_conflict(session: AsyncSession, detail: str, *, code: str = "conflict") -> None:
    """Flush; a constraint lost to a concurrent request (unique key, reference) becomes a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(detail, code=code) from exc
