"""The sweep of expired idempotency keys."""

from __future__ import annotations

from kerops.core.jobs import JobContext, job
from kerops.core.types import utcnow
from kerops.idempotency import repository


@job("idempotency.sweep", every_seconds=3600)
async def sweep_expired_keys(ctx: JobContext) -> None:
    """Delete the keys kept past their 24 hours (an expired key is already treated as new)."""
    await repository.delete_expired(ctx.session, now=utcnow())
