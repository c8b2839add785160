"""Alembic environment: async engine, batch mode for SQLite, portable type rendering."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

from kerops import modules
from kerops.config import Settings, get_settings
from kerops.core.db import create_engine
from kerops.core.migrate import service_grants, service_role
from kerops.core.models import Base
from kerops.core.types import Quantity, StrEnum, UTCDateTime

config = context.config
modules.import_models()
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StrEnum):
        return f"sa.String(length={obj.impl.length})"  # type: ignore[attr-defined]
    if type_ == "type" and isinstance(obj, Quantity):
        return "sa.BigInteger()"
    return False


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    # An index made on one database only (``Index(...).ddl_if(dialect=...)``, such as a GIN
    # index on PostgreSQL) is not expected on the others.
    if type_ == "index" and not reflected:
        only = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        if only is not None and only != context.get_bind().dialect.name:
            return False
    return True


def _settings() -> Settings:
    settings: Settings | None = config.attributes.get("settings")
    return settings or get_settings()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        include_object=_include_object,
        transaction_per_migration=True,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
    role = service_role(_settings())
    if role is not None and connection.dialect.name == "postgresql":
        # The service's role reads and writes rows of every table, including new ones.
        for statement in service_grants(role):
            connection.exec_driver_sql(statement)


async def _run_async() -> None:
    settings = _settings()
    # The owner's URL (KEROPS_MIGRATION_DATABASE_URL) when one is given.
    owner = settings.model_copy(update={"database_url": settings.resolved_migration_database_url})
    engine = create_engine(owner, null_pool=True)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
        await connection.commit()
    await engine.dispose()


def run_migrations_offline() -> None:
    """Emit SQL without a database (``alembic upgrade --sql``)."""
    context.configure(
        url=_settings().resolved_migration_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if context.is_offline_mode():
    run_migrations_offline()
elif connection is not None:
    _run_sync(connection)
else:
    asyncio.run(_run_async())
