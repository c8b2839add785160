"""Emitting events and dispatching them to their subscribers.

``emit`` writes the event in the caller's transaction and queues the dispatch job, which the
job engine sends only after that transaction commits: an event exists if and only if its change
does. The dispatch job marks the event dispatched and hands it to every subscriber (in-app
notifications, email, webhooks, ...) in one transaction; subscribers must be idempotent (a
crash before that transaction commits re-delivers the event, and what a subscriber does after
it, such as sending e-mails, may be repeated by a later delivery). A periodic sweep dispatches
events whose job message was lost, or whose subscribers failed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.jobs import (
    JobContext,
    drop_queued_since,
    enqueue,
    job,
    queued_mark,
    take_pending,
)
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event

log = logging.getLogger("kerops.events")

Subscriber = Callable[[JobContext, Event], Awaitable[None]]

#: Subscribers by name, called in registration order for every event.
SUBSCRIBERS: dict[str, Subscriber] = {}

#: Events older than this and still not dispatched are picked up by the sweep.
SWEEP_AFTER = timedelta(seconds=30)
#: An event that failed this many dispatches is left for an operator (and logged).
MAX_ATTEMPTS = 10


def subscriber(name: str) -> Callable[[Subscriber], Subscriber]:
    """Register ``fn(ctx, event)`` to receive every dispatched event."""

    def register(fn: Subscriber) -> Subscriber:
        SUBSCRIBERS[name] = fn
        return fn

    return register


def emit(
    session: AsyncSession,
    event_type: str,
    *,
    client_id: uuid.UUID | None,
    subject_type: str | None = None,
    subject_id: uuid.UUID | None = None,
    locale_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Record ``event_type`` in the current transaction; it is dispatched after the commit."""
    event = Event(
        id=uuid7(),
        client_id=client_id,
        vendor_id=vendor_id,
        locale_id=locale_id,
        type=event_type,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload or {},
        created_at=utcnow(),
        attempts=0,
    )
    session.add(event)
    enqueue(session, "events.dispatch", event_id=str(event.id))
    return event


async def _run_subscribers(ctx: JobContext, event: Event) -> bool:
    """Hand ``event`` to every subscriber; False (logged) as soon as one fails."""
    for name, fn in SUBSCRIBERS.items():
        try:
            await fn(ctx, event)
        except Exception:
            log.exception("subscriber failed", extra={"subscriber": name, "event": str(event.id)})
            return False
    return True


async def _dispatch_one(ctx: JobContext, event: Event) -> None:
    """Dispatch one event of a batch: a failing subscriber undoes only this event's work (a
    savepoint per event, with the jobs and after-commit work it queued) and leaves it for a
    later sweep."""
    mark = queued_mark(ctx.session)
    async with ctx.session.begin_nested() as savepoint:
        if await _run_subscribers(ctx, event):
            event.dispatched_at = utcnow()
            return
        await savepoint.rollback()
    drop_queued_since(ctx.session, mark)
    event.attempts += 1


def _claim() -> Update:
    table: Table = Event.__table__  # type: ignore[assignment]
    return (
        update(table)
        .where(table.c.id == bindparam("event_id"), table.c.dispatched_at.is_(None))
        .values(dispatched_at=bindparam("now"))
        .returning(*table.columns)
    )


#: The event to dispatch, marked dispatched as it is read (one statement; the row stays locked
#: until the job's commit, and a second dispatch of it waits, then finds it dispatched). Built
#: once.
_CLAIM = _claim()


@job("events.dispatch")
async def dispatch(ctx: JobContext, event_id: str) -> None:
    """Hand one event to every subscriber (no-op when it was dispatched already).

    The event is marked dispatched first, in this job's transaction, and the subscribers run in
    the same transaction, without savepoints: if one fails, all of it is rolled back (the mark,
    their work and the jobs they queued), the failure is counted, and the sweep dispatches the
    event again later (subscribers are idempotent)."""
    session = ctx.session
    key = uuid.UUID(event_id)
    conn = await session.connection()
    row = (await conn.execute(_CLAIM, {"event_id": key, "now": utcnow()})).mappings().first()
    if row is None:
        return
    # What the subscribers read (not in the session: the row is already written).
    event = Event(**row)
    if await _run_subscribers(ctx, event):
        return
    await session.rollback()
    take_pending(session)
    await session.execute(
        update(Event)
        .where(Event.id == key, Event.dispatched_at.is_(None))
        .values(attempts=Event.attempts + 1)
        .execution_options(synchronize_session=False)
    )


@job("events.sweep", every_seconds=60)
async def sweep(ctx: JobContext, limit: int = 500) -> None:
    """Dispatch the events whose dispatch message was lost (or failed and may now succeed)."""
    stmt = (
        select(Event)
        .where(
            Event.dispatched_at.is_(None),
            Event.created_at < utcnow() - SWEEP_AFTER,
            Event.attempts < MAX_ATTEMPTS,
        )
        .order_by(Event.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    for event in (await ctx.session.execute(stmt)).scalars():
        await _dispatch_one(ctx, event)
