"""Asset metrics: availability and downtime, MTBF per asset and category, and failures (the
most failing assets). Time in a status comes from ``asset_status_changes``: each change lasts
until the asset's next one, clipped to the period in the asset's locale's zone and to now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, func, literal, select

from kerops.analytics.base import (
    Breakdown,
    MetricResult,
    Source,
    asset_conditions,
    fold,
    points,
    ratio,
    ticket_conditions,
    total,
)
from kerops.analytics.periods import Filters, Group, Zones
from kerops.analytics.sqlfn import epoch, greatest, least
from kerops.assets.models import Asset, AssetStatusChange
from kerops.core.enums import AssetStatus, TicketStatus
from kerops.core.types import UTCDateTime
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale

C = AssetStatusChange
T = ServiceTicket
#: The statuses an asset is expected to run in: availability is measured over them.
OBSERVED = (AssetStatus.operational, AssetStatus.maintenance, AssetStatus.down)
#: Assets listed per metric (the worst first).
MAX_ROWS = 100
TOP = 10


def _failures(zones: Zones, filters: Filters, source: Source) -> Any:
    """Corrective tickets (not cancelled) created in the period, per asset."""
    return (
        select(T.asset_id.label("asset_id"), func.count().label("failures"))
        .join(Locale, Locale.id == T.locale_id)
        .where(
            *ticket_conditions(filters, source),
            T.asset_id.is_not(None),
            T.maintenance_plan_id.is_(None),
            T.status != TicketStatus.cancelled,
            zones.within(T.created_at, Locale.timezone),
        )
        .group_by(T.asset_id)
        .subquery("failures")
    )


def asset_times_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per asset of the filters: seconds operational, down and observed in the period, and its
    failures."""
    assets = select(Asset.id).where(*asset_conditions(filters), source.allowed(Asset))
    changes = (
        select(
            C.asset_id,
            C.to_status,
            C.changed_at,
            func.lead(C.changed_at)
            .over(partition_by=C.asset_id, order_by=(C.changed_at, C.id))
            .label("next_at"),
        )
        .where(
            C.client_id == filters.client_id,
            C.asset_id.in_(assets),
            C.changed_at < literal(zones.hi, UTCDateTime),
        )
        .subquery("changes")
    )
    start = zones.starts(Locale.timezone)
    end = zones.ends(Locale.timezone, source.now)
    until = least(func.coalesce(changes.c.next_at, end), end)
    span = greatest(epoch(until) - epoch(greatest(changes.c.changed_at, start)), 0)
    status = changes.c.to_status
    times = (
        select(
            changes.c.asset_id.label("asset_id"),
            func.sum(case((status == AssetStatus.operational, span), else_=0)).label("up"),
            func.sum(case((status == AssetStatus.down, span), else_=0)).label("down"),
            func.sum(case((status.in_(OBSERVED), span), else_=0)).label("observed"),
        )
        .join(Asset, Asset.id == changes.c.asset_id)
        .join(Locale, Locale.id == Asset.locale_id)
        .group_by(changes.c.asset_id)
        .subquery("times")
    )
    failures = _failures(zones, filters, source)
    return (
        select(
            Asset.id,
            Asset.name,
            Asset.category,
            func.coalesce(times.c.up, 0),
            func.coalesce(times.c.down, 0),
            func.coalesce(times.c.observed, 0),
            func.coalesce(failures.c.failures, 0),
        )
        .outerjoin(times, times.c.asset_id == Asset.id)
        .outerjoin(failures, failures.c.asset_id == Asset.id)
        .where(
            Asset.id.in_(assets),
            (times.c.asset_id.is_not(None)) | (failures.c.asset_id.is_not(None)),
        )
    )


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _mtbf(up: float, failures: float) -> float | None:
    return round(up / failures / 3600, 2) if failures else None


async def _asset_times(source: Source, zones: Zones, filters: Filters) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await source.run(asset_times_statement(zones, filters, source))]


async def availability(
    source: Source, zones: Zones, filters: Filters, group: Group
) -> MetricResult:
    """Availability % and downtime hours per asset over the period (the least available
    first)."""
    rows = await _asset_times(source, zones, filters)
    observed = sum(float(r[5]) for r in rows)
    down = sum(float(r[4]) for r in rows)
    listed = []
    for asset_id, name, _category, _up, asset_down, asset_observed, _ in rows:
        if not asset_observed:
            continue
        share = ratio(float(asset_observed) - float(asset_down), float(asset_observed))
        listed.append(
            Breakdown(
                kind="asset",
                key=str(asset_id),
                label=name,
                value=share,
                values={
                    "downtime_hours": _hours(float(asset_down)),
                    "observed_hours": _hours(float(asset_observed)),
                },
            )
        )
    listed.sort(key=lambda b: (b.value if b.value is not None else 101.0, b.label))
    return MetricResult(
        metric="availability",
        unit="percent",
        value=ratio(observed - down, observed),
        values={"downtime_hours": _hours(down), "observed_hours": _hours(observed)},
        rows=listed[:MAX_ROWS],
    )


async def mtbf(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Mean time between failures (operating hours ÷ failures) per asset and per category."""
    rows = await _asset_times(source, zones, filters)
    categories: dict[str, list[float]] = {}
    assets = []
    for asset_id, name, category, up, _down, _observed, failures in rows:
        sums = categories.setdefault(category or "", [0.0, 0.0])
        sums[0] += float(up)
        sums[1] += float(failures)
        if failures:
            assets.append(
                Breakdown(
                    kind="asset",
                    key=str(asset_id),
                    label=name,
                    value=_mtbf(float(up), float(failures)),
                    values={"operating_hours": _hours(float(up)), "failures": int(failures)},
                )
            )
    assets.sort(key=lambda b: (b.value if b.value is not None else 0.0, b.label))
    by_category = [
        Breakdown(
            kind="category",
            key=category,
            label=category,
            value=_mtbf(up, failures),
            values={"operating_hours": _hours(up), "failures": int(failures)},
        )
        for category, (up, failures) in sorted(categories.items())
    ]
    up = sum(float(r[3]) for r in rows)
    failures = sum(int(r[6]) for r in rows)
    return MetricResult(
        metric="mtbf",
        unit="hours",
        value=_mtbf(up, failures),
        values={"operating_hours": _hours(up), "failures": failures},
        rows=by_category + assets[:MAX_ROWS],
    )


async def failures(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Failures (corrective tickets on an asset) per bucket, and the 10 most failing assets."""
    base = [
        *ticket_conditions(filters, source),
        T.asset_id.is_not(None),
        T.maintenance_plan_id.is_(None),
        T.status != TicketStatus.cancelled,
    ]
    inner = (
        select(zones.local_day(T.created_at, Locale.timezone).label("day"), T.asset_id)
        .join(Locale, Locale.id == T.locale_id)
        .where(zones.within(T.created_at, Locale.timezone), *base)
        .subquery()
    )
    per_day = select(inner.c.day, func.count()).group_by(inner.c.day)
    buckets = fold(await source.run(per_day), filters, group, ("failures",))
    sums = total(buckets, ("failures",))
    count = func.count().label("n")
    top = (
        select(Asset.id, Asset.name, count)
        .join(inner, inner.c.asset_id == Asset.id)
        .group_by(Asset.id, Asset.name)
        .order_by(count.desc(), Asset.name, Asset.id)
        .limit(TOP)
    )
    listed = [
        Breakdown(kind="asset", key=str(i), label=n, value=int(c), values={"failures": int(c)})
        for i, n, c in await source.run(top)
    ]
    return MetricResult(
        metric="failures",
        unit="count",
        value=int(sums["failures"]),
        points=points(buckets, filters, group, lambda b: int(b["failures"])),
        rows=listed,
    )
