"""Technician utilisation: minutes logged as work ÷ minutes of working shifts, each counted on
the local day (in the technician's own time zone) it starts on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, Select, func, literal, select, union_all

from kerops.analytics.base import Breakdown, MetricResult, Source, fold, points, ratio
from kerops.analytics.periods import Filters, Group, Zones
from kerops.analytics.sqlfn import epoch
from kerops.core.enums import ShiftType, WorkLogCategory
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket
from kerops.users.models import User
from kerops.workforce.models import TechnicianShift

L = TicketWorkLog
W = TechnicianShift
ZERO = literal(0, BigInteger)


def utilisation_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day and technician: minutes worked and minutes scheduled."""
    people = [User.id == L.technician_id]
    worked = (
        select(
            zones.local_day(L.started_at, User.timezone).label("day"),
            L.technician_id.label("technician_id"),
            func.coalesce(L.minutes, 0).label("worked"),
            ZERO.label("scheduled"),
        )
        .select_from(L)
        .join(User, *people)
        .join(ServiceTicket, ServiceTicket.id == L.ticket_id)
        .where(
            L.client_id == filters.client_id,
            L.category == WorkLogCategory.work,
            L.ended_at.is_not(None),
            source.allowed(ServiceTicket),
            zones.within(L.started_at, User.timezone),
        )
    )
    minutes = (epoch(W.ends_at) - epoch(W.starts_at)) // literal(60, Integer)
    scheduled = (
        select(
            zones.local_day(W.starts_at, User.timezone).label("day"),
            W.technician_id.label("technician_id"),
            ZERO.label("worked"),
            minutes.label("scheduled"),
        )
        .select_from(W)
        .join(User, User.id == W.technician_id)
        .where(
            W.client_id == filters.client_id,
            W.shift_type == ShiftType.working,
            source.allowed(TechnicianShift),
            zones.within(W.starts_at, User.timezone),
        )
    )
    if filters.technician_id is not None:
        worked = worked.where(L.technician_id == filters.technician_id)
        scheduled = scheduled.where(W.technician_id == filters.technician_id)
    if filters.vendor_id is not None:
        worked = worked.where(User.vendor_id == filters.vendor_id)
        scheduled = scheduled.where(User.vendor_id == filters.vendor_id)
    rows = union_all(worked, scheduled).subquery("minutes")
    return (
        select(
            rows.c.day,
            rows.c.technician_id,
            User.full_name,
            func.sum(rows.c.worked),
            func.sum(rows.c.scheduled),
        )
        .select_from(rows)
        .join(User, User.id == rows.c.technician_id)
        .group_by(rows.c.day, rows.c.technician_id, User.full_name)
    )


async def utilisation(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Utilisation per bucket and per technician (the busiest first)."""
    rows = list(await source.run(utilisation_statement(zones, filters, source)))
    names = ("worked_minutes", "scheduled_minutes")
    buckets = fold(((r[0], r[3], r[4]) for r in rows), filters, group, names)
    people: dict[Any, list[Any]] = {}
    for _day, technician_id, name, worked, planned in rows:
        entry = people.setdefault(technician_id, [name, 0.0, 0.0])
        entry[1] += float(worked or 0)
        entry[2] += float(planned or 0)

    def share(b: dict[str, float]) -> float | None:
        return ratio(b["worked_minutes"], b["scheduled_minutes"])

    listed = [
        Breakdown(
            kind="technician",
            key=str(key),
            label=name,
            value=ratio(worked, planned),
            values={"worked_minutes": int(worked), "scheduled_minutes": int(planned)},
        )
        for key, (name, worked, planned) in sorted(
            people.items(), key=lambda kv: (-(kv[1][1]), kv[1][0])
        )
    ]
    worked = sum(b["worked_minutes"] for b in buckets.values())
    planned = sum(b["scheduled_minutes"] for b in buckets.values())
    return MetricResult(
        metric="utilisation",
        unit="percent",
        value=ratio(worked, planned),
        values={"worked_minutes": int(worked), "scheduled_minutes": int(planned)},
        points=points(buckets, filters, group, share),
        rows=listed,
    )
