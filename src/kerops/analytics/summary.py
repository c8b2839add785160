"""The month of one locale as a report shows it (the monthly PDF): the cards, tickets and MTTR
by week, SLA compliance, the most failing assets, PM compliance and costs, each computed by the
same functions as the API."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.analytics import costs, pm, reliability, service, tickets
from kerops.analytics.base import MetricResult, Run, Source, zones_of
from kerops.analytics.periods import Filters, Group
from kerops.core.types import utcnow


@dataclass(frozen=True, slots=True)
class MonthlySummary:
    """One locale's month: the dashboard's cards (beside the month before) and the series and
    tables of the report."""

    client_id: uuid.UUID
    locale_id: uuid.UUID | None
    start: date
    end: date
    cards: list[service.Card]
    tickets: MetricResult
    mttr: MetricResult
    sla: MetricResult
    failures: MetricResult
    pm_compliance: MetricResult
    costs: MetricResult


def _runner(session: AsyncSession) -> Run:
    async def run(statement: object) -> list[object]:
        return list((await session.execute(statement)).all())  # type: ignore[call-overload]

    return run


async def monthly_summary(
    session: AsyncSession, client_id: uuid.UUID, locale_id: uuid.UUID | None, month: date
) -> MonthlySummary:
    """The summary of the calendar month holding ``month`` for one locale (every locale of
    the client with None), reading every row of the client (the caller decides who may ask)."""
    start = month.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    filters = Filters(client_id=client_id, start=start, end=end, locale_id=locale_id)
    # The cards compare with the calendar month before, not with the same number of days.
    before = (start - timedelta(days=1)).replace(day=1)
    previous = dataclasses.replace(filters, start=before, end=start - timedelta(days=1))
    source = Source(run=_runner(session), principal=None, now=utcnow())
    cards = await service.overview(source, filters, previous)
    zones = await zones_of(source, filters)
    week = Group.week
    return MonthlySummary(
        client_id=client_id,
        locale_id=locale_id,
        start=start,
        end=end,
        cards=cards,
        tickets=await tickets.tickets(source, zones, filters, week),
        mttr=await tickets.mttr(source, zones, filters, week),
        sla=await tickets.sla(source, zones, filters, week),
        failures=await reliability.failures(source, zones, filters, week),
        pm_compliance=await pm.compliance(source, zones, filters, week),
        costs=await costs.costs(source, zones, filters, week),
    )
