"""Orphan objects: the stored files no row holds any more, deleted by the hourly
``storage.sweep`` job. Each module storing files registers the column holding their keys."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import obstore
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.jobs import JobContext, job
from kerops.core.storage.backends import Storage, create_storage
from kerops.core.types import utcnow

log = structlog.get_logger("kerops.storage")


#: The columns holding storage keys, by the kind a key names (its second segment:
#: ``{owner}/{kind}/{record}/{name}``); each module storing files registers its own.
STORED_FILES: dict[str, Any] = {}
#: Objects younger than this are never swept (an upload writes its object before its row).
SWEEP_GRACE = timedelta(hours=1)
#: Keys checked against the database per query.
SWEEP_BATCH = 500
_SWEPT_KEY = re.compile(r"^[0-9a-f-]{36}/([a-z_]+)/[0-9a-f-]{36}/[^/]+$")


def stored_files(kind: str, column: Any) -> None:
    """Declare that ``column`` holds the keys of the objects of ``kind`` (see ``sweep``)."""
    STORED_FILES[kind] = column


async def sweep_orphans(
    storage: Storage, session: AsyncSession, *, older_than: timedelta = SWEEP_GRACE
) -> int:
    """Delete the stored objects no row holds any more (left by database cascades, a crash
    between a row's delete and its object's, or a failed best-effort delete); how many.

    Only objects the app names (``{owner}/{kind}/{record}/{name}`` with a registered kind) and
    older than ``older_than`` are considered: anything else in the bucket or folder is left."""
    cutoff = utcnow() - older_than
    deleted = 0
    pending: dict[str, list[str]] = {}

    async def settle(kind: str) -> None:
        nonlocal deleted
        keys = pending.pop(kind, [])
        column = STORED_FILES[kind]
        held = set((await session.execute(select(column).where(column.in_(keys)))).scalars())
        for key in keys:
            if key not in held:
                await storage.delete(key)
                deleted += 1
                log.info("orphan_file_deleted", key=key)

    async for batch in obstore.list(storage.store, chunk_size=SWEEP_BATCH):
        for meta in batch:
            key = str(meta["path"])
            match = _SWEPT_KEY.match(key)
            if match is None or match.group(1) not in STORED_FILES:
                continue
            if meta["last_modified"] >= cutoff:
                continue
            kind = match.group(1)
            pending.setdefault(kind, []).append(key)
            if len(pending[kind]) >= SWEEP_BATCH:
                await settle(kind)
    for kind in list(pending):
        await settle(kind)
    return deleted


@job("storage.sweep", every_seconds=3600)
async def sweep(ctx: JobContext, older_than_seconds: int | None = None) -> None:
    """Delete orphan stored objects (see ``sweep_orphans``), hourly."""
    grace = SWEEP_GRACE if older_than_seconds is None else timedelta(seconds=older_than_seconds)
    deleted = await sweep_orphans(create_storage(ctx.state.settings), ctx.session, older_than=grace)
    if deleted:
        log.info("orphan_files_swept", deleted=deleted)
