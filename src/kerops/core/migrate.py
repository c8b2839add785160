"""Running the Alembic migrations from code (CLI, app start-up, tests)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from kerops.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    """An Alembic config pointing at the packaged migrations and the given settings' database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    command.downgrade(alembic_config(settings), revision)


@lru_cache
def head_revision() -> str | None:
    """The newest migration's revision id."""
    script = ScriptDirectory.from_config(alembic_config(Settings()))
    return script.get_current_head()


def service_role(settings: Settings) -> str | None:
    """The role the service connects as, when it is not the one that runs the migrations (the
    owner of the tables): ``KEROPS_DATABASE_URL``'s user beside ``KEROPS_MIGRATION_DATABASE_URL``'s
    (PostgreSQL only)."""
    if settings.is_sqlite or not settings.migration_database_url:
        return None
    service = make_url(settings.resolved_database_url).username
    owner = make_url(settings.migration_database_url).username
    return service if service and service != owner else None


def service_grants(role: str) -> list[str]:
    """What the service role may do in the current schema: read and write rows of every table
    (under their row-level security policies) and use their sequences; the migrations' own
    table is only read (to know the schema is current). Run by the owner after each upgrade, so
    tables added by later migrations are covered too."""
    quoted = '"' + role.replace('"', '""') + '"'
    return [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}",
    ]
