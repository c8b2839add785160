"""The sync stream of a technician's app (``GET /sync``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from kerops.core.deps import ReaderDep
from kerops.core.openapi import answers
from kerops.core.state import AppState
from kerops.sync import service
from kerops.sync.schemas import SyncPage

router = APIRouter(tags=["sync"])

Since = Annotated[
    str | None,
    Query(
        max_length=1024,
        pattern=r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$",
        description="A cursor from a previous answer (`next_cursor` or `cursor`); none: sync fully",
    ),
]
Limit = Annotated[int | None, Query(ge=1, description="Page size (capped by the server)")]


@router.get("/sync", response_model=SyncPage)
@answers(410)
async def sync(
    request: Request, reader: ReaderDep, since: Since = None, limit: Limit = None
) -> SyncPage:
    """What changed since the cursor, one keyset page in commit order: each object that changed
    once, as its own GET shows it, and deletes for the objects deleted or out of your reach."""
    state: AppState = request.app.state.kerops
    settings = state.settings
    size = min(limit or settings.pagination_default_limit, settings.pagination_max_limit)
    page = await service.stream(
        reader,
        since=since,
        limit=size,
        security=state.security,
        keep_days=settings.sync_tombstone_days,
    )
    return SyncPage.model_validate(page)
