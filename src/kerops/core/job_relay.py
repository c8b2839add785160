"""``jobs.relay``: send again the outbox rows whose job has not run by their ``relay_at``.

A row is left when the broker was down at the commit that queued it, when its message was lost
(a broker restarted without persistence, a worker killed past the broker's redelivery), or when
its job failed after its retries on transient errors. Rows are claimed as they are read (one
``UPDATE … RETURNING`` moving their ``relay_at`` on by :data:`CLAIM_SECONDS`, committed before
anything is sent: a job run in this process never waits for the sweep's locks), then sent. The
ones sent are not due again before the broker's redelivery time; the ones the broker refused are
due again at once; the ones of a sweep that died meanwhile, after :data:`CLAIM_SECONDS`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from kerops.core import job_outbox
from kerops.core.jobs import OUTBOX_KEY, REGISTRY, JobContext, job
from kerops.core.types import utcnow

log = logging.getLogger("kerops.jobs")

#: Rows relayed by one run of the sweep (the next run takes the rest).
BATCH = 500
#: How long a sweep's claim on its rows lasts before they are sent: a sweep that dies between
#: its claim and its sends (its worker stopped) leaves them due again this soon.
CLAIM_SECONDS = 30


@job("jobs.relay", every_seconds=30)
async def relay(ctx: JobContext, limit: int = BATCH) -> None:
    """Send the jobs whose outbox row is due (their job has not run), oldest first."""
    session = ctx.session
    conn = await session.connection()
    dialect = conn.dialect.name
    now = utcnow()
    claimed_until = now + timedelta(seconds=CLAIM_SECONDS)
    claim = job_outbox.CLAIM[dialect]
    rows = (
        await conn.execute(claim, {"now": now, "limit": limit, "relay_at": claimed_until})
    ).all()
    if not rows:
        return
    await session.commit()
    # Nothing is held while sending: a job run in this process takes its own write transaction.
    unknown: list[uuid.UUID] = []
    sent: list[uuid.UUID] = []
    unsent: list[uuid.UUID] = []
    for n, (outbox_id, name, kwargs) in enumerate(rows):
        if name not in REGISTRY:
            unknown.append(outbox_id)  # queued by a version that had this job
            continue
        try:
            await ctx.state.jobs.send(name, **kwargs, **{OUTBOX_KEY: str(outbox_id)})
        except Exception:
            log.exception("relay: could not send job", extra={"job": name})
            unsent = [row[0] for row in rows[n:] if row[1] in REGISTRY]
            break
        sent.append(outbox_id)
    for outbox_id in unknown:
        log.error("relay: unknown job parked", extra={"outbox_id": str(outbox_id)})
        params = {"outbox_id": outbox_id, "now": now, "relay_at": now, "give_up": True}
        await session.execute(job_outbox.RECORD_FAILURE, {**params, "error": "unknown job"})
    conn = await session.connection()
    release = job_outbox.RELEASE[dialect]
    if sent:
        # Waiting in the broker's queue now: due again only if still not run by the time the
        # broker itself would deliver a message again.
        redelivery = timedelta(seconds=ctx.state.settings.broker_redelivery_seconds)
        await conn.execute(release, {"ids": sent, "relay_at": utcnow() + redelivery})
    if unsent:
        await conn.execute(release, {"ids": unsent, "relay_at": utcnow()})
    log.info("relay: sent %d jobs", len(sent))
