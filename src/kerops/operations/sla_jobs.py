"""The SLA check: warnings and breaches of tickets' response and resolution targets.

Every minute, ``sla.check`` takes the tickets whose ``sla_next_check_at`` has come (an indexed
column: the query never scans tickets with nothing pending), in batches locked with
``FOR UPDATE SKIP LOCKED`` so concurrent workers share the work. Each threshold is claimed with a
conditional ``UPDATE ... WHERE <not yet recorded>``: a warning or breach is recorded and its
event emitted exactly once per ticket, whatever the number of workers or re-deliveries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import sync_log
from kerops.core.enums import ClientRole, LocalRole, UserRole
from kerops.core.jobs import JobContext, job
from kerops.core.types import utcnow
from kerops.events import service as events
from kerops.operations import sla
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale, LocalMember
from kerops.users.models import User

#: Tickets handled per transaction, and transactions per run (the rest waits for the next run).
BATCH_SIZE = 200
MAX_BATCHES = 50

_COLUMNS: dict[tuple[sla.Target, sla.Threshold], Any] = {
    ("response", "warning"): ServiceTicket.sla_response_warned_at,
    ("resolution", "warning"): ServiceTicket.sla_resolution_warned_at,
    ("response", "breach"): ServiceTicket.sla_response_breached,
    ("resolution", "breach"): ServiceTicket.sla_resolution_breached,
}


async def _claim(
    session: AsyncSession, ids: list[uuid.UUID], target: sla.Target, kind: sla.Threshold, now: Any
) -> set[uuid.UUID]:
    """Record one threshold on these tickets unless another run did: the ids this run recorded."""
    column = _COLUMNS[(target, kind)]
    unrecorded = column.is_(None) if kind == "warning" else column.is_(False)
    claimed = await session.execute(
        update(ServiceTicket)
        .where(ServiceTicket.id.in_(ids), unrecorded)
        .values({column.key: now if kind == "warning" else True})
        .returning(ServiceTicket.id)
        .execution_options(synchronize_session=False)
    )
    recorded = set(claimed.scalars())
    sync_log.touched(session, ServiceTicket, recorded)
    return recorded


async def _managers(
    session: AsyncSession, locale_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The manager user ids of each locale: its managers and the client-wide managers of its
    client (one query for a batch)."""
    members = select(LocalMember.locale_id, LocalMember.user_id).where(
        LocalMember.locale_id.in_(locale_ids), LocalMember.role == LocalRole.manager
    )
    client_wide = (
        select(Locale.id, User.id)
        .join(User, User.client_id == Locale.client_id)
        .where(
            Locale.id.in_(locale_ids),
            User.role == UserRole.client_member,
            User.client_role == ClientRole.manager,
            User.is_active.is_(True),
        )
    )
    found: dict[uuid.UUID, set[str]] = defaultdict(set)
    for locale_id, user_id in (await session.execute(members.union(client_wide))).all():
        found[locale_id].add(str(user_id))
    return {locale_id: sorted(users) for locale_id, users in found.items()}


def _payload(ticket: ServiceTicket, target: sla.Target, due_at: datetime) -> dict[str, Any]:
    return {
        "target": target,
        "due_at": due_at.isoformat(),
        "number": ticket.number,
        "title": ticket.title,
        "priority": ticket.priority.value,
        "status": ticket.status.value,
        "clock": ticket.sla_clock.value,
    }


async def check_batch(session: AsyncSession, *, now: datetime, limit: int) -> int:
    """Act on up to ``limit`` tickets whose next SLA check has come; how many were taken."""
    stmt = (
        select(ServiceTicket)
        .where(ServiceTicket.sla_next_check_at <= now)
        .order_by(ServiceTicket.sla_next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    tickets: Sequence[ServiceTicket] = list((await session.execute(stmt)).scalars())
    due = {
        ticket.id: [t for t in sla.pending_thresholds(ticket) if sla.has_come(t, now)]
        for ticket in tickets
    }
    breached_locales = {
        t.locale_id for t in tickets if any(kind == "breach" for _, kind, _ in due[t.id])
    }
    managers = await _managers(session, breached_locales) if breached_locales else {}
    claimed: dict[tuple[sla.Target, sla.Threshold], set[uuid.UUID]] = {}
    for target, kind in _COLUMNS:
        ids = [t.id for t in tickets if any(c[:2] == (target, kind) for c in due[t.id])]
        if ids:
            claimed[(target, kind)] = await _claim(session, ids, target, kind, now)
    for ticket in tickets:
        crossed = due[ticket.id]
        breaches = {target for target, kind, _ in crossed if kind == "breach"}
        for target, kind, threshold_at in crossed:
            if ticket.id not in claimed[(target, kind)]:
                await session.refresh(ticket)  # another run recorded it meanwhile
                continue
            column = _COLUMNS[(target, kind)]
            # The same value through the ORM, so the audit log records it.
            setattr(ticket, column.key, now if kind == "warning" else True)
            if kind == "warning" and target in breaches:
                continue  # a late check: the breach says more than the warning
            payload = _payload(ticket, target, _due_at(ticket, target))
            if kind == "warning":
                payload["warn_at"] = threshold_at.isoformat()
            else:
                payload["escalate_to"] = managers.get(ticket.locale_id, [])
            events.emit(
                session,
                "sla.warning" if kind == "warning" else "sla.breached",
                client_id=ticket.client_id,
                locale_id=ticket.locale_id,
                vendor_id=ticket.vendor_id,
                subject_type="ticket",
                subject_id=ticket.id,
                payload=payload,
            )
        ticket.sla_next_check_at = sla.next_check_at(ticket)
    await session.flush()
    return len(tickets)


def _due_at(ticket: ServiceTicket, target: sla.Target) -> datetime:
    due = ticket.sla_response_due_at if target == "response" else ticket.sla_resolution_due_at
    assert due is not None
    return due


@job("sla.check", every_seconds=60)
async def check(
    ctx: JobContext,
    now: str | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = MAX_BATCHES,
) -> None:
    """Record SLA warnings and breaches that have come (``now``: ISO instant, for tests)."""
    at = datetime.fromisoformat(now) if now else utcnow()
    for _ in range(max_batches):
        taken = await check_batch(ctx.session, now=at, limit=batch_size)
        if taken < batch_size:
            return
        # One transaction per batch: locks are held briefly and the events go out as we go.
        await ctx.session.commit()
        await ctx.state.jobs.send_pending(ctx.session)
