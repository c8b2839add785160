"""The prune of the sync log."""

from __future__ import annotations

from kerops.config import get_settings
from kerops.core.jobs import JobContext, job
from kerops.sync import service


@job("sync.prune", every_seconds=86400)
async def prune_sync_log(ctx: JobContext) -> None:
    """Delete the tombstones, departures and resets older than ``sync_tombstone_days`` and the
    changes superseded since (their cursors answer 410 by then)."""
    await service.prune(ctx.session, keep_days=get_settings().sync_tombstone_days)
