"""The sync stream's answer."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from kerops.core.schemas import ReadModel

SyncKind = Literal[
    "ticket",
    "task",
    "comment",
    "attachment",
    "asset",
    "plan",
    "shift",
    "certification",
    "notification",
]


class SyncItem(ReadModel):
    """One object that changed (``upsert``: ``data`` is the object as its own GET shows it) or
    that the app must drop (``delete``: deleted, or out of the caller's reach now)."""

    kind: SyncKind
    id: uuid.UUID
    op: Literal["upsert", "delete"]
    data: dict[str, Any] | None = None


class SyncPage(ReadModel):
    """A page of the sync stream. ``next_cursor``: more to read now (send it as ``since``);
    ``cursor``: the stream is drained, keep it and send it as ``since`` next time."""

    items: list[SyncItem]
    next_cursor: str | None = Field(default=None, description="More changes to read now")
    cursor: str | None = Field(default=None, description="Drained: the cursor for next time")
