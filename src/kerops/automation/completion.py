"""What a plan's ticket does to its plan when it is completed or cancelled.

Registered with the ticket transition engine (``operations.transitions.on_ticket_moved``, by
``automation.access_rules``), which calls it after every move; it only acts on tickets generated
by a maintenance plan that reach ``completed`` or ``cancelled``.
"""

from __future__ import annotations

import uuid
import zoneinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets import plans as plan_service
from kerops.assets.models import AssetMaintenancePlan
from kerops.assets.plans_schemas import PlanAnchor, PlanTrigger
from kerops.core.enums import TicketStatus
from kerops.core.types import utcnow
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale

Plan = AssetMaintenancePlan


class Zones:
    """The timezones of locales, loaded once per run."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.cache: dict[uuid.UUID, zoneinfo.ZoneInfo] = {}

    async def of(self, locale_id: uuid.UUID) -> zoneinfo.ZoneInfo:
        if locale_id not in self.cache:
            name = (
                await self.session.execute(select(Locale.timezone).where(Locale.id == locale_id))
            ).scalar_one_or_none()
            try:
                zone = zoneinfo.ZoneInfo(name or plan_service.FALLBACK_TIMEZONE)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone = zoneinfo.ZoneInfo(plan_service.FALLBACK_TIMEZONE)
            self.cache[locale_id] = zone
        return self.cache[locale_id]


# --- completion ----------------------------------------------------------------------------------


async def ticket_moved(session: AsyncSession, ticket: ServiceTicket) -> None:
    """After a plan's ticket is completed or cancelled: record the completion and, for a
    completion-anchored plan, schedule its next occurrence (run after every move of a ticket)."""
    if ticket.maintenance_plan_id is None or ticket.status not in (
        TicketStatus.completed,
        TicketStatus.cancelled,
    ):
        return
    plan = await session.get(Plan, ticket.maintenance_plan_id, with_for_update=True)
    if plan is None:
        return
    after = utcnow()
    if ticket.status is TicketStatus.completed:
        done_at = ticket.completed_at or after
        if plan.last_completed_at is None or done_at > plan.last_completed_at:
            plan.last_completed_at = done_at
        after = done_at
        plan.neglected_since = None
        plan.neglect_reason = None
    if (
        plan.is_active
        and plan.trigger == PlanTrigger.date.value
        and plan.anchor == PlanAnchor.completion.value
    ):
        tz = await Zones(session).of(plan.locale_id)
        found = plan_service.due_occurrences(plan, tz, after=after, limit=1)
        plan.next_due_at = found[0].due_at if found else None
