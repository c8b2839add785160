"""Periodic IoT jobs: silent sensors trip their ``no_data`` rules; old readings are deleted."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from kerops.core.jobs import JobContext, job
from kerops.core.types import utcnow
from kerops.iot import alerts, repository
from kerops.iot.models import IoTRule

log = logging.getLogger("kerops.iot")

#: Rows deleted per statement (and per committed transaction) by the retention job.
RETENTION_BATCH = 10_000
#: At most this many batches per run; the next run continues.
RETENTION_MAX_BATCHES = 100


@job("iot.no_data", every_seconds=60)
async def check_silent_sensors(ctx: JobContext, now: str | None = None) -> None:
    """Trip every enabled ``no_data`` rule whose metric sent nothing for its minutes."""
    at = datetime.fromisoformat(now) if now else utcnow()
    stmt = select(
        IoTRule.id, IoTRule.device_id, IoTRule.metric, IoTRule.no_data_minutes, IoTRule.created_at
    ).where(IoTRule.kind == "no_data", IoTRule.is_enabled, IoTRule.state == "ok")
    rules = (await ctx.session.execute(stmt)).all()
    if not rules:
        return
    last = await repository.last_times(
        ctx.session, sorted({(r.device_id, r.metric) for r in rules})
    )
    silent = []
    for rule in rules:
        # A metric that never reported is silent since the rule exists.
        since = max(last.get((rule.device_id, rule.metric), rule.created_at), rule.created_at)
        if at - since >= timedelta(minutes=rule.no_data_minutes or 0):
            silent.append(rule.id)
    if silent:
        tripped = await alerts.trip_silent(ctx.session, rule_ids=silent, now=at)
        log.info("silent sensors", extra={"tripped": tripped})


@job("iot.retention", every_seconds=3600)
async def delete_old_readings(ctx: JobContext) -> None:
    """Delete readings older than ``KEROPS_IOT_RETENTION_DAYS`` in committed batches."""
    cutoff = utcnow() - timedelta(days=ctx.state.settings.iot_retention_days)
    total = 0
    for _ in range(RETENTION_MAX_BATCHES):
        deleted = await repository.delete_older_than(ctx.session, cutoff, RETENTION_BATCH)
        await ctx.session.commit()  # short transactions: ingestion goes on in between
        total += deleted
        if deleted < RETENTION_BATCH:
            break
    if total:
        log.info("old readings deleted", extra={"deleted": total})
