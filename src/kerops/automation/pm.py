"""Preventive maintenance: one ticket per due occurrence of a maintenance plan, never two.

The periodic job ``pm.generate`` (every 60 s) finds the active plans that are due:

- a **date** plan when its ``next_due_at`` minus its lead time (local days, see
  ``recurrence``) has passed;
- a **meter** plan when its asset's reading of ``meter_name`` reached ``next_meter_due``.

Each due occurrence is claimed by inserting a ``plan_occurrences`` row, unique per plan and
occurrence, so a second run or a second worker never opens a second ticket for it (on PostgreSQL
the plans are also locked ``FOR UPDATE SKIP LOCKED``, so concurrent runs share the work). The
ticket gets the plan's checklist as tasks, its priority, skill and default assignee; then the plan
moves on: a calendar plan to its next occurrence, a completion plan to none until the ticket is
completed (``kerops.automation.completion``), a meter plan to its next threshold above the reading.

Occurrences missed while nothing ran are not generated one by one: the pending occurrence gets
its ticket and the plan moves to the first occurrence after now. Rules: docs/automation.md.
"""

from __future__ import annotations

import logging
import math
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets import plans as plan_service
from kerops.assets import recurrence
from kerops.assets.models import Asset, AssetMaintenancePlan, PlanOccurrence
from kerops.assets.plans_schemas import PlanAnchor, PlanTrigger
from kerops.automation.completion import Zones
from kerops.config import Settings
from kerops.core import formats
from kerops.core.enums import TicketStatus, UserRole
from kerops.core.i18n import gettext
from kerops.core.jobs import JobContext, job
from kerops.core.types import utcnow
from kerops.events import service as events
from kerops.operations import intake as ticket_intake
from kerops.operations.models import ServiceTicket, TicketTask
from kerops.users.clients import language_of_client
from kerops.users.models import User

Plan = AssetMaintenancePlan
log = logging.getLogger("kerops.pm")

#: Plans of each trigger handled per run; the next run takes the rest.
BATCH = 200
#: Slack of the SQL pre-filter of date plans: a lead time counts local days, and a DST change in
#: between moves the instant by up to an hour (the exact check is done in Python).
SLACK = timedelta(hours=3)
#: A generated ticket in one of these states was never started.
NOT_STARTED = (TicketStatus.open, TicketStatus.assigned)


# --- time and places -----------------------------------------------------------------------------


def _as_instant(value: datetime | str | None) -> datetime:
    if value is None:
        return utcnow()
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return at


def generate_at(due_at: datetime, lead_time_days: int, tz: zoneinfo.ZoneInfo) -> datetime:
    """When the work of an occurrence due at ``due_at`` is generated: ``lead_time_days`` local
    days earlier, at the same local time of day."""
    local = due_at.astimezone(tz)
    return recurrence.local_to_utc(
        local.date() - timedelta(days=lead_time_days), tz, local.time().replace(tzinfo=None)
    )


# --- the job -------------------------------------------------------------------------------------


@job("pm.generate", every_seconds=60)
async def generate(ctx: JobContext, now: datetime | str | None = None) -> None:
    """Open the tickets of every due occurrence of the active maintenance plans."""
    await generate_due(ctx.session, now=_as_instant(now), settings=ctx.state.settings)


async def generate_due(
    session: AsyncSession, *, now: datetime, settings: Settings, limit: int = BATCH
) -> list[ServiceTicket]:
    """Generate the tickets of the plans due at ``now`` (one batch of each trigger)."""
    zones = Zones(session)
    created: list[ServiceTicket] = []
    for plan in await _date_plans_due(session, now, limit):
        ticket = await _generate_date_occurrence(session, plan, now, settings, zones)
        if ticket is not None:
            created.append(ticket)
    for plan in await _meter_plans_due(session, limit):
        ticket = await _generate_meter_occurrence(session, plan, now, settings)
        if ticket is not None:
            created.append(ticket)
    await session.flush()
    return created


async def _date_plans_due(session: AsyncSession, now: datetime, limit: int) -> list[Plan]:
    """Active date plans whose next occurrence may be within its lead time (locked, PG)."""
    dated = and_(
        Plan.is_active.is_(True),
        Plan.trigger == PlanTrigger.date.value,
        Plan.next_due_at.is_not(None),
    )
    leads = (await session.execute(select(Plan.lead_time_days).where(dated).distinct())).scalars()
    windows = [
        and_(Plan.lead_time_days == lead, Plan.next_due_at <= now + timedelta(days=lead) + SLACK)
        for lead in leads
    ]
    if not windows:
        return []
    stmt = (
        select(Plan)
        .where(dated, or_(*windows))
        .order_by(Plan.next_due_at, Plan.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def _meter_plans_due(session: AsyncSession, limit: int) -> list[Plan]:
    """Active meter plans whose asset's reading reached the next threshold (locked, PG)."""
    scan = (
        select(Plan.id, Plan.meter_name, Plan.next_meter_due, Asset)
        .join(Asset, Asset.id == Plan.asset_id)
        .where(
            Plan.is_active.is_(True),
            Plan.trigger == PlanTrigger.meter.value,
            Plan.next_meter_due.is_not(None),
            Plan.meter_name.is_not(None),
        )
    )
    due: list[uuid.UUID] = []
    for plan_id, meter_name, next_due, asset in await session.execute(scan):
        reading = plan_service.current_reading(asset, meter_name or "")
        if reading is not None and next_due is not None and reading >= next_due:
            due.append(plan_id)
            if len(due) >= limit:
                break
    if not due:
        return []
    stmt = (
        select(Plan)
        .where(Plan.id.in_(due))
        .order_by(Plan.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())


async def _generate_date_occurrence(
    session: AsyncSession, plan: Plan, now: datetime, settings: Settings, zones: Zones
) -> ServiceTicket | None:
    due_at = plan.next_due_at
    assert due_at is not None
    tz = await zones.of(plan.locale_id)
    if generate_at(due_at, plan.lead_time_days, tz) > now:
        return None
    completion = plan.anchor == PlanAnchor.completion.value
    if completion and await _has_open_ticket(session, plan):
        # The series restarts when the outstanding ticket is completed.
        plan.next_due_at = None
        return None
    ticket = await _open_ticket(
        session,
        plan,
        key=f"date:{due_at.astimezone(UTC).isoformat()}",
        due_at=due_at,
        meter_value=None,
        now=now,
        settings=settings,
        timezone=tz.key,
    )
    if completion:
        plan.next_due_at = None
    else:
        after = max(due_at + timedelta(seconds=1), now)
        found = plan_service.due_occurrences(plan, tz, after=after, limit=1)
        plan.next_due_at = found[0].due_at if found else None
    return ticket


async def _generate_meter_occurrence(
    session: AsyncSession, plan: Plan, now: datetime, settings: Settings
) -> ServiceTicket | None:
    asset = await session.get(Asset, plan.asset_id)
    threshold, interval = plan.next_meter_due, plan.meter_interval
    if asset is None or plan.meter_name is None or threshold is None or not interval:
        return None
    reading = plan_service.current_reading(asset, plan.meter_name)
    if reading is None or reading < threshold:
        return None  # changed since the scan
    ticket = await _open_ticket(
        session,
        plan,
        key=f"meter:{threshold!r}",
        due_at=None,
        meter_value=threshold,
        now=now,
        settings=settings,
    )
    # The next threshold above the reading: a jump over several thresholds is one occurrence.
    plan.next_meter_due = threshold + interval * (math.floor((reading - threshold) / interval) + 1)
    return ticket


async def _has_open_ticket(session: AsyncSession, plan: Plan) -> bool:
    stmt = (
        select(ServiceTicket.id)
        .where(
            ServiceTicket.maintenance_plan_id == plan.id,
            ServiceTicket.status.not_in((TicketStatus.completed, TicketStatus.cancelled)),
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


# --- the ticket ----------------------------------------------------------------------------------


async def _claim(
    session: AsyncSession,
    plan: Plan,
    *,
    key: str,
    due_at: datetime | None,
    meter_value: float | None,
    now: datetime,
) -> PlanOccurrence | None:
    """Insert the occurrence row; None when it exists already (generated before)."""
    occurrence = PlanOccurrence(
        client_id=plan.client_id,
        locale_id=plan.locale_id,
        plan_id=plan.id,
        occurrence_key=key,
        due_at=due_at,
        meter_value=meter_value,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(occurrence)
            await session.flush()
    except IntegrityError:
        return None
    return occurrence


async def _assignee(session: AsyncSession, plan: Plan) -> User | None:
    if plan.default_assignee_id is None:
        return None
    user = await session.get(User, plan.default_assignee_id)
    if user is None or not user.is_active or user.role is not UserRole.technician:
        return None
    return user


def _never_started(status: TicketStatus, responded_at: datetime | None) -> bool:
    if status in NOT_STARTED:
        return True
    return status is TicketStatus.cancelled and responded_at is None


async def _check_neglect(
    session: AsyncSession, plan: Plan, now: datetime, settings: Settings
) -> None:
    """Flag (or clear) the plan by its last generated tickets, before the next one is opened."""
    count = settings.pm_neglect_after
    stmt = (
        select(ServiceTicket.status, ServiceTicket.responded_at)
        .join(PlanOccurrence, PlanOccurrence.ticket_id == ServiceTicket.id)
        .where(PlanOccurrence.plan_id == plan.id)
        .order_by(PlanOccurrence.created_at.desc(), PlanOccurrence.id.desc())
        .limit(count)
    )
    rows = (await session.execute(stmt)).all()
    neglected = len(rows) >= count and all(_never_started(s, r) for s, r in rows)
    if neglected and plan.neglected_since is None:
        plan.neglected_since = now
        language = await language_of_client(session, plan.client_id)
        plan.neglect_reason = gettext(
            "The last {count} tickets generated by this plan were never started.",
            language,
            count=count,
        )
        events.emit(
            session,
            "plan.neglected",
            client_id=plan.client_id,
            locale_id=plan.locale_id,
            subject_type="maintenance_plan",
            subject_id=plan.id,
            payload={"plan_id": str(plan.id), "asset_id": str(plan.asset_id), "tickets": count},
        )
    elif not neglected and plan.neglected_since is not None:
        plan.neglected_since = None
        plan.neglect_reason = None


def _description(
    plan: Plan,
    asset: Asset,
    due_at: datetime | None,
    meter: float | None,
    *,
    language: str,
    timezone: str | None,
) -> str:
    if due_at is not None:
        when = gettext(
            "due on {due_at}",
            language,
            due_at=formats.format_datetime(due_at, language, timezone=timezone),
        )
    elif meter is not None:
        when = gettext(
            "{meter} reached {value}",
            language,
            meter=plan.meter_name or "",
            value=formats.format_number(meter, language),
        )
    else:
        when = gettext("due", language)
    head = gettext(
        "Preventive maintenance of {asset} ({when}).", language, asset=asset.name, when=when
    )
    return f"{head}\n\n{plan.description}" if plan.description else head


async def _open_ticket(
    session: AsyncSession,
    plan: Plan,
    *,
    key: str,
    due_at: datetime | None,
    meter_value: float | None,
    now: datetime,
    settings: Settings,
    timezone: str | None = None,
) -> ServiceTicket | None:
    """Claim the occurrence and open its ticket (None when it was generated before).

    Its title, description and notes are stored once, in the language of the plan's client."""
    occurrence = await _claim(
        session, plan, key=key, due_at=due_at, meter_value=meter_value, now=now
    )
    if occurrence is None:
        return None
    await _check_neglect(session, plan, now, settings)
    asset = await session.get(Asset, plan.asset_id)
    assert asset is not None
    planned_at = due_at or now
    technician = await _assignee(session, plan)
    language = await language_of_client(session, plan.client_id)
    ticket = await ticket_intake.raise_system_ticket(
        session,
        asset=asset,
        source="plan",
        title=gettext(
            "Preventive maintenance: {plan} — {asset}", language, plan=plan.name, asset=asset.name
        ),
        description=_description(
            plan, asset, due_at, meter_value, language=language, timezone=timezone
        ),
        priority=plan.default_priority,
        required_skill=plan.required_skill,
        maintenance_plan_id=plan.id,
        planned_at=planned_at,
        # The deadlines run from when the work falls due, not from its early generation.
        sla_start=max(now, planned_at),
        technician=technician,
        assignment_note=(
            gettext(
                "Assigned to {technician} by maintenance plan {plan}",
                language,
                technician=technician.full_name,
                plan=plan.name,
            )
            if technician
            else ""
        ),
        created_event=False,  # plan.generated below names the ticket
        now=now,
    )
    for position, item in enumerate(plan.checklist_template or []):
        session.add(_task(ticket, position, item, now))
    occurrence.ticket_id = ticket.id
    events.emit(
        session,
        "plan.generated",
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        vendor_id=ticket.vendor_id,
        subject_type="ticket",
        subject_id=ticket.id,
        payload={
            "plan_id": str(plan.id),
            "ticket_id": str(ticket.id),
            "number": ticket.number,
            "title": ticket.title,
            "occurrence": key,
            "due_at": due_at.isoformat() if due_at else None,
        },
    )
    await session.flush()
    return ticket


def _task(ticket: ServiceTicket, position: int, item: dict[str, Any], now: datetime) -> TicketTask:
    kind = str(item.get("kind") or "check")
    return TicketTask(
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        ticket_id=ticket.id,
        position=position,
        label=str(item.get("label") or "")[:300],
        kind=kind,
        min_value=item.get("min") if kind == "number" else None,
        max_value=item.get("max") if kind == "number" else None,
        is_done=False,
        created_at=now,
        updated_at=now,
    )
