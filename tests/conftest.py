"""Test fixtures: real databases built by running the migrations, one fresh database per test.

SQLite (default): the migrated file is copied for each test. PostgreSQL (set
``KEROPS_TEST_DATABASE_URL=postgresql://user@host:port/db``, a superuser): a template database is
migrated once per run; each worker copies it once and empties it back to its migrated state after
every test. As in a deployment (docs/deploy.md), the migrations run as the role owning the
tables (``OWNER_ROLE``) and the apps connect as a role that owns nothing and is no superuser
(``SERVICE_ROLE``), so the row-level security policies apply to every statement of the tests.

The FastAPI app (its routes, middleware and OpenAPI document) is built once per worker and per
settings, because building the routes costs more than most tests. Every test still gets services
of its own (engine, rate-limit storage, mail outbox, keys: ``build_state``) on an empty
``app.state``; see ``app_for``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.datastructures import State

from kerops.config import Settings, normalise_database_url
from kerops.core.logging import configure_logging
from kerops.core.migrate import upgrade
from kerops.main import build_state, create_app

PG_URL = os.environ.get("KEROPS_TEST_DATABASE_URL", "")
USE_PG = PG_URL.startswith("postgres")
TEST_SECRET = "test-secret-key-not-for-production-0123456789"
#: Roles of the PostgreSQL tests (cluster-wide, created when missing): the tables' owner, which
#: runs the migrations, and the service's role, which only reads and writes rows.
OWNER_ROLE = "kerops_test_owner"
SERVICE_ROLE = "kerops_test_service"
ROLE_PASSWORD = "kerops-test-only"


def _pg_url(dbname: str, role: str | None = None) -> str:
    """The URL of database ``dbname``: as the configured (admin) user, or as ``role``."""
    parts = urlsplit(PG_URL)
    if role is not None:
        port = f":{parts.port}" if parts.port else ""
        parts = parts._replace(netloc=f"{role}:{ROLE_PASSWORD}@{parts.hostname}{port}")
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def pg_owner_url(dbname: str) -> str:
    """The tables' owner's URL of database ``dbname`` (for migrations)."""
    return normalise_database_url(_pg_url(dbname, OWNER_ROLE))


def pg_service_url(dbname: str) -> str:
    """The service role's URL of database ``dbname`` (what the apps connect as)."""
    return normalise_database_url(_pg_url(dbname, SERVICE_ROLE))


def _ensure_roles() -> None:
    """Create the owner and service roles if missing (idempotent; workers may race)."""
    for role in (OWNER_ROLE, SERVICE_ROLE):
        _pg_admin(
            "DO $$ BEGIN "
            f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS "
            f"PASSWORD '{ROLE_PASSWORD}'; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )


def _pg_admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def make_settings(data_dir: Path, database_url: str | None, **overrides: Any) -> Settings:
    """Settings for one test app."""
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "log_json": True,
        "log_level": "WARNING",
        "public_url": "http://testserver",
        # argon2id as in production, at a lower cost so hundreds of logins stay fast
        "argon2_memory_kib": 1024,
        "argon2_time_cost": 1,
        # Jobs queued by a request run before it answers (deterministic tests); periodic jobs
        # run only when a test runs them.
        "jobs_inline": True,
        "embedded_scheduler": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head once per run: a SQLite file or a PostgreSQL template name."""
    if USE_PG:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"kerops_tpl_{worker}_{uuid.uuid4().hex[:8]}"
        _ensure_roles()
        _pg_admin(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
        upgrade(
            make_settings(
                tmp_path_factory.mktemp("tpl"),
                pg_service_url(name),
                migration_database_url=pg_owner_url(name),
            )
        )
        yield name
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        folder = tmp_path_factory.mktemp("tpl")
        upgrade(make_settings(folder, None))
        yield str(folder / "kerops.sqlite3")


@contextmanager
def fresh_database(template_database: str, data_dir: Path) -> Iterator[str | None]:
    """A fresh migrated database: its URL (PostgreSQL), or None for the SQLite file in data_dir."""
    if USE_PG:
        name = f"kerops_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}" OWNER {OWNER_ROLE}')
        try:
            yield pg_service_url(name)
        finally:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(template_database, data_dir / "kerops.sqlite3")
        yield None


class PgWorkDatabase:
    """One migrated PostgreSQL database per test worker, emptied back to its migrated state.

    Creating a database per test costs far more on PostgreSQL than emptying one: after each test
    every table is emptied and the rows the migrations seed (plan limits) are put back, over one
    connection kept for the whole run (on an event loop of its own).
    """

    def __init__(self, template: str) -> None:
        self.name = f"kerops_w_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}" OWNER {OWNER_ROLE}')
        self.tables: list[str] = []
        self.seeded: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection | None = None
        self._loop.run_until_complete(self._snapshot())

    @property
    def url(self) -> str:
        """The service role's URL (the apps under test connect as it)."""
        return pg_service_url(self.name)

    @property
    def owner_url(self) -> str:
        """The tables' owner's URL."""
        return pg_owner_url(self.name)

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(_pg_url(self.name).replace("+asyncpg", ""))

    async def _snapshot(self) -> None:
        conn = await self._connect()
        try:
            rows = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
            self.tables = [r["tablename"] for r in rows]
            for table in self.tables:
                records = await conn.fetch(f'SELECT * FROM "{table}"')
                if records:
                    self.seeded[table] = (list(records[0].keys()), [tuple(r) for r in records])
        finally:
            await conn.close()

    async def _reset(self) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
            # DELETE beats TRUNCATE on tiny tables; the replica role skips the foreign-key and
            # append-only triggers for this connection only.
            await self._conn.execute(
                "SET lock_timeout = '10s'; SET session_replication_role = replica"
            )
        conn = self._conn
        try:
            async with conn.transaction():
                await conn.execute("; ".join(f'DELETE FROM "{t}"' for t in self.tables))
                for table, (columns, records) in self.seeded.items():
                    await conn.copy_records_to_table(table, records=records, columns=columns)
        except BaseException:
            self._conn = None
            await conn.close(timeout=5)
            raise

    def reset(self) -> None:
        """Empty every table and restore the seeded rows."""
        self._loop.run_until_complete(self._reset())

    def drop(self) -> None:
        """Close the connection and remove the database."""
        if self._conn is not None:
            self._loop.run_until_complete(self._conn.close(timeout=5))
        self._loop.close()
        _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_work_database(template_database: str) -> Iterator[PgWorkDatabase | None]:
    """The worker's PostgreSQL database (None on SQLite)."""
    if not USE_PG:
        yield None
        return
    work = PgWorkDatabase(template_database)
    yield work
    work.drop()


@pytest.fixture
def database_url(
    template_database: str, pg_work_database: PgWorkDatabase | None, tmp_path: Path
) -> Iterator[str | None]:
    """A migrated database in its just-migrated state, for one test."""
    if pg_work_database is not None:
        try:
            yield pg_work_database.url
        finally:
            pg_work_database.reset()
        return
    with fresh_database(template_database, tmp_path) as url:
        yield url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings of the app under test."""
    return {}


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str | None,
    pg_work_database: PgWorkDatabase | None,
    settings_overrides: dict[str, Any],
) -> Settings:
    """Settings of the app under test (on PostgreSQL with the owner's URL for migrations)."""
    overrides = dict(settings_overrides)
    if pg_work_database is not None:
        overrides.setdefault("migration_database_url", pg_work_database.owner_url)
    return make_settings(tmp_path, database_url, **overrides)


# Apps built by ``create_app``, newest last, keyed by everything that may shape them.
_APPS: OrderedDict[str, tuple[FastAPI, tuple[Any, ...]]] = OrderedDict()
_APPS_KEPT = 4
# What each test changes: the database and the data folder, which only the services use.
_PER_TEST_SETTINGS = {"data_dir", "database_url", "migration_database_url"}


def _app_shape(app: FastAPI) -> tuple[Any, ...]:
    """What a test could change in an app beyond its state (compared after each test)."""
    return (
        tuple(id(route) for route in app.router.routes),
        tuple(app.user_middleware),
        tuple(app.exception_handlers.items()),
        tuple(app.dependency_overrides.items()),
    )


@contextmanager
def app_for(settings: Settings) -> Iterator[FastAPI]:
    """An app for ``settings`` as ``create_app`` builds it, with services of its own.

    The app is reused when only the database and the data folder differ (and the derived keys
    are equal): its ``app.state`` is replaced by a new one holding fresh services from
    ``build_state``, as ``create_app`` would make. An app whose routes, middleware, handlers or
    dependency overrides a test changed is not reused, nor one that keeps more than its services
    on ``app.state`` when built.
    """
    state = build_state(settings)
    key = "|".join(
        (
            settings.model_dump_json(exclude=_PER_TEST_SETTINGS),
            state.security.session_secret,
        )
    )
    cached = _APPS.get(key)
    if cached is None:
        app = create_app(settings)
        shape = _app_shape(app)
        if set(app.state._state) == {"kerops"}:
            _APPS[key] = (app, shape)
            while len(_APPS) > _APPS_KEPT:
                _APPS.popitem(last=False)
    else:
        app, shape = cached
        _APPS.move_to_end(key)
        configure_logging(settings.log_level, json=settings.log_json)
        app.state = State()
        app.state.kerops = state
    try:
        yield app
    finally:
        if key in _APPS and _app_shape(app) != shape:
            del _APPS[key]


#: The language the shared test client asks for (docs/i18n.md, "Tests"): the tests written
#: before answers were translated read English texts; a test of the language sends its own
#: ``Accept-Language`` (an empty value asks for none).
TEST_CLIENT_HEADERS = {"Accept-Language": "en"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A test client of the app for ``settings`` (services of its own) on a fresh database; it
    sends ``Accept-Language: en`` unless a request says otherwise."""
    with app_for(settings) as app, TestClient(app, headers=TEST_CLIENT_HEADERS) as test_client:
        yield test_client


@pytest.fixture
def run(client: TestClient) -> Callable[..., Any]:
    """Run ``async fn(session)`` in the app's event loop, in a committed transaction."""
    return run_in_app(client)


def run_in_app(client: TestClient) -> Callable[..., Any]:
    """A runner of ``async fn(session)`` in ``client``'s app loop, in a committed transaction."""
    from kerops.core import row_scope
    from kerops.core.audit import set_audit_context
    from kerops.core.principal import AuditContext

    state = client.app.state.kerops  # type: ignore[attr-defined]

    def runner(fn: Callable[..., Any]) -> Any:
        async def wrapped() -> Any:
            # A test's own setting up and checking sees every client's rows.
            row_scope.use(row_scope.PLATFORM)
            async with state.db.sessions() as session:
                set_audit_context(session.sync_session, AuditContext(request_id="test"))
                result = await fn(session)
                await session.commit()
                return result

        return client.portal.call(wrapped)  # type: ignore[union-attr]

    return runner


def as_platform(fn: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """``fn`` (a coroutine function, for ``client.portal.call``) run in the platform's row
    scope: a test's own statements outside a request see every client's rows
    (``kerops.core.row_scope``)."""
    from kerops.core import row_scope

    async def wrapped() -> Any:
        row_scope.use(row_scope.PLATFORM)
        return await fn()

    return wrapped


class QueryCounter:
    """Counts SQL statements the app sends while active (for per-endpoint query budgets)."""

    def __init__(self, on_enter: Callable[[], None] | None = None) -> None:
        self.count = 0
        self.active = False
        #: Run when counting starts: by default the app forgets cached principals, so every
        #: counted request pays for reading its caller (the worst case, the same every time).
        self.on_enter = on_enter

    def __enter__(self) -> QueryCounter:
        if self.on_enter is not None:
            self.on_enter()
        self.count = 0
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False


@pytest.fixture
def queries(client: TestClient) -> QueryCounter:
    """``with queries as q: ...; q.count`` counts the statements of the app's engine."""
    from sqlalchemy import event

    from kerops.core.jobs import current_job

    db = client.app.state.kerops.db  # type: ignore[attr-defined]
    counter = QueryCounter(on_enter=db.principals.clear)
    engine = db.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        if counter.active and current_job.get() is None:
            counter.count += 1

    # Statements of read-only routes sent straight to the driver (kerops.core.reads).
    db.reads.listeners.append(_count)
    return counter
