"""Preventive maintenance: PM compliance (occurrences done by their due time ÷ due) and the
neglected plans (active plans with an occurrence overdue and not done)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, exists, func, or_, select

from kerops.analytics.base import (
    Breakdown,
    MetricResult,
    Source,
    asset_conditions,
    fold,
    points,
    ratio,
    total,
)
from kerops.analytics.periods import Filters, Group, Zones
from kerops.assets.models import Asset, AssetMaintenancePlan, PlanOccurrence
from kerops.core.enums import TicketStatus
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale

O = PlanOccurrence  # noqa: E741 (the occurrence)
P = AssetMaintenancePlan
T = ServiceTicket
MAX_ROWS = 100


def _plans(filters: Filters, source: Source) -> Select[Any]:
    """The ids of the plans of the filtered assets the caller may read."""
    assets = select(Asset.id).where(*asset_conditions(filters))
    return select(P.id).where(
        P.client_id == filters.client_id, P.asset_id.in_(assets), source.allowed(P)
    )


def compliance_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day of the due time: occurrences due, and those whose ticket was completed by
    it."""
    on_time = exists().where(
        T.id == O.ticket_id, T.status == TicketStatus.completed, T.completed_at <= O.due_at
    )
    inner = (
        select(
            zones.local_day(O.due_at, Locale.timezone).label("day"),
            case((on_time, 1), else_=0).label("on_time"),
        )
        .join(Locale, Locale.id == O.locale_id)
        .where(
            O.client_id == filters.client_id,
            O.due_at.is_not(None),
            O.plan_id.in_(_plans(filters, source)),
            zones.within(O.due_at, Locale.timezone),
        )
        .subquery()
    )
    return select(inner.c.day, func.count(), func.sum(inner.c.on_time)).group_by(inner.c.day)


async def compliance(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """PM compliance per bucket of due time."""
    names = ("due", "on_time")
    stmt = compliance_statement(zones, filters, source)
    buckets = fold(await source.run(stmt), filters, group, names)
    sums = total(buckets, names)

    def share(b: dict[str, float]) -> float | None:
        return ratio(b["on_time"], b["due"])

    return MetricResult(
        metric="pm_compliance",
        unit="percent",
        value=share(sums),
        values={k: int(v) for k, v in sums.items()},
        points=points(buckets, filters, group, share),
    )


async def neglected(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Active plans with an occurrence due before the period's end (and now) whose ticket is
    not completed, the longest overdue first."""
    done = exists().where(T.id == O.ticket_id, T.status == TicketStatus.completed)
    overdue = func.count().label("overdue")
    oldest = func.min(O.due_at).label("oldest")
    stmt = (
        select(P.id, P.name, Asset.name, overdue, oldest)
        .select_from(O)
        .join(P, P.id == O.plan_id)
        .join(Asset, Asset.id == P.asset_id)
        .join(Locale, Locale.id == O.locale_id)
        .where(
            O.client_id == filters.client_id,
            P.is_active.is_(True),
            O.plan_id.in_(_plans(filters, source)),
            O.due_at.is_not(None),
            O.due_at < zones.ends(Locale.timezone, source.now),
            or_(O.ticket_id.is_(None), ~done),
        )
        .group_by(P.id, P.name, Asset.name)
        .order_by(oldest, P.name, P.id)
    )
    rows = list(await source.run(stmt))
    listed = [
        Breakdown(
            kind="plan",
            key=str(plan_id),
            label=name,
            value=int(count),
            values={"asset": asset_name, "oldest_due_at": _iso(first)},  # type: ignore[dict-item]
        )
        for plan_id, name, asset_name, count, first in rows[:MAX_ROWS]
    ]
    return MetricResult(
        metric="neglected_plans",
        unit="count",
        value=len(rows),
        values={"overdue_occurrences": sum(int(r[3]) for r in rows)},
        rows=listed,
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None
