"""Liveness and readiness probes (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kerops import __version__
from kerops.core.deps import StateDep
from kerops.core.errors import DATABASE_RETRY_AFTER_SECONDS, is_database_unavailable
from kerops.core.migrate import head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness answer."""

    status: str
    version: str


class Readiness(BaseModel):
    """Readiness answer: database reachable and schema at the newest migration."""

    status: str
    database: str
    migration: str | None
    expected_migration: str | None


@router.get("/health", response_model=Health)
async def health() -> Health:
    """The process is alive."""
    return Health(status="ok", version=__version__)


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(state: StateDep) -> JSONResponse:
    """The database answers and its schema is at the newest migration (503 otherwise, with
    ``Retry-After`` while the database is out of reach)."""
    expected = head_revision()
    current: str | None = None
    database = "ok"
    try:
        async with state.db.read_sessions() as session:
            current = (
                await session.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
    except Exception as exc:
        if not isinstance(exc, SQLAlchemyError) and not is_database_unavailable(exc):
            raise
        database = "unreachable"
    ok = database == "ok" and current == expected
    body = Readiness(
        status="ok" if ok else "not_ready",
        database=database,
        migration=current,
        expected_migration=expected,
    )
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)} if not ok else None
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503, headers=headers)
