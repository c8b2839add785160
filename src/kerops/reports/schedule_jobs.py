"""The job that sends scheduled reports: every minute, the schedules that are due."""

from __future__ import annotations

from datetime import datetime

import structlog

from kerops.core.jobs import JobContext, job
from kerops.core.types import utcnow
from kerops.reports import schedules

log = structlog.get_logger("kerops.reports")


@job("reports.schedules", every_seconds=60)
async def run_schedules(ctx: JobContext, now: str | None = None) -> None:
    """Run the due schedules (as of ``now``, ISO, for tests; default the clock)."""
    moment = datetime.fromisoformat(now) if now else utcnow()
    made = await schedules.run_due(ctx.session, now=moment)
    if made:
        log.info("scheduled_reports", reports=len(made))
