"""What every metric family shares: where its statements run, whose rows it reads, the
filters every ticket metric applies, and the shape of an answer."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, true, union

from kerops.analytics.periods import (
    Filters,
    Group,
    Zones,
    bucket_last_day,
    bucket_start,
    bucket_starts,
    day_of,
)
from kerops.assets.models import Asset
from kerops.core import access
from kerops.core.models import Base
from kerops.core.principal import Principal
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale
from kerops.users.models import User
from kerops.workforce.models import TechnicianShift

#: Runs one SELECT and answers its rows (a reader's runner, or a session's ``execute``).
Run = Callable[[Any], Awaitable[Sequence[Any]]]
Number = int | float | None


@dataclass(frozen=True, slots=True)
class Source:
    """Where a metric reads: how its statements run, whose reach limits the rows (None: every
    row of the client, for a report the service makes itself) and the instant it is computed
    at (nothing after it counts)."""

    run: Run
    principal: Principal | None
    now: datetime

    def allowed(self, model: type[Base]) -> Any:
        """The rows of ``model`` the caller may read."""
        if self.principal is None:
            return true()
        return access.predicate(model, self.principal)


@dataclass(slots=True)
class Point:
    """One bucket of a series: its first day, its headline value and its parts."""

    start: date
    end: date
    value: Number
    values: dict[str, Number] = field(default_factory=dict)


@dataclass(slots=True)
class Breakdown:
    """One row of a metric split by something (an asset, a locale, a category, a rule...)."""

    kind: str
    key: str
    label: str
    value: Number
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class MetricResult:
    """A metric over a period: its headline value and parts, its series, its breakdowns."""

    metric: str
    unit: str
    value: Number
    values: dict[str, Any] = field(default_factory=dict)
    points: list[Point] = field(default_factory=list)
    rows: list[Breakdown] = field(default_factory=list)


async def zones_of(source: Source, filters: Filters) -> Zones:
    """The time zones of the client's locales (of the one filtered on) and of the technicians
    with shifts or work logs of the client, over the period."""
    locales = select(Locale.timezone).where(Locale.client_id == filters.client_id)
    if filters.locale_id is not None:
        locales = locales.where(Locale.id == filters.locale_id)
    technicians = union(
        select(TechnicianShift.technician_id).where(TechnicianShift.client_id == filters.client_id),
        select(TicketWorkLog.technician_id).where(TicketWorkLog.client_id == filters.client_id),
    )
    people = select(User.timezone).where(User.id.in_(technicians))
    names = [row[0] for row in await source.run(union(locales, people))]  # type: ignore[arg-type]
    return Zones(names, filters.start, filters.end)


def asset_conditions(filters: Filters, asset: Any = Asset) -> list[ColumnElement[bool]]:
    """The filters that apply to an asset's own columns."""
    conditions: list[ColumnElement[bool]] = [asset.client_id == filters.client_id]
    for column, value in (
        (asset.locale_id, filters.locale_id),
        (asset.area_id, filters.area_id),
        (asset.id, filters.asset_id),
        (asset.category, filters.category),
    ):
        if value is not None:
            conditions.append(column == value)
    return conditions


def ticket_conditions(
    filters: Filters, source: Source, ticket: Any = ServiceTicket
) -> list[ColumnElement[bool]]:
    """The filters of every ticket metric: the client, the caller's reach and the API's
    filters (the asset category through the ticket's asset)."""
    conditions: list[ColumnElement[bool]] = [
        ticket.client_id == filters.client_id,
        source.allowed(ServiceTicket),
    ]
    for column, value in (
        (ticket.locale_id, filters.locale_id),
        (ticket.area_id, filters.area_id),
        (ticket.asset_id, filters.asset_id),
        (ticket.vendor_id, filters.vendor_id),
        (ticket.technician_id, filters.technician_id),
        (ticket.priority, filters.priority),
        (ticket.source, filters.source),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.category is not None:
        conditions.append(
            ticket.asset_id.in_(
                select(Asset.id).where(
                    Asset.client_id == filters.client_id, Asset.category == filters.category
                )
            )
        )
    return conditions


def fold(
    rows: Iterable[Sequence[Any]], filters: Filters, group: Group, names: Sequence[str]
) -> dict[date, dict[str, float]]:
    """Rows of (day number, *sums) added up per bucket, every bucket of the period present."""
    buckets = {
        start: dict.fromkeys(names, 0.0)
        for start in bucket_starts(filters.start, filters.end, group)
    }
    for row in rows:
        day = day_of(row[0])
        if not filters.start <= day <= filters.end:
            continue
        sums = buckets[bucket_start(day, group)]
        for name, value in zip(names, row[1:], strict=True):
            sums[name] += float(value or 0)
    return buckets


def points(
    buckets: Mapping[date, dict[str, float]],
    filters: Filters,
    group: Group,
    value: Callable[[dict[str, float]], Number],
    shown: Callable[[dict[str, float]], dict[str, Number]] | None = None,
) -> list[Point]:
    """The series of folded buckets: each bucket's value and parts."""
    return [
        Point(
            start=start,
            end=bucket_last_day(start, group, filters.end),
            value=value(sums),
            values=shown(sums) if shown is not None else _whole(sums),
        )
        for start, sums in buckets.items()
    ]


def total(buckets: Mapping[date, dict[str, float]], names: Sequence[str]) -> dict[str, float]:
    """The sums of every bucket together."""
    return {name: sum(b[name] for b in buckets.values()) for name in names}


def _whole(sums: Mapping[str, float]) -> dict[str, Number]:
    return {k: int(v) if float(v).is_integer() else v for k, v in sums.items()}


def ratio(part: float, whole: float, scale: float = 100.0) -> float | None:
    """``part / whole`` times ``scale`` rounded to 2 decimals; None when ``whole`` is 0."""
    return round(part / whole * scale, 2) if whole else None


def hours(seconds: float, count: float) -> float | None:
    """A mean of seconds in hours, rounded to 2 decimals; None without a single case."""
    return round(seconds / count / 3600, 2) if count else None


def label_of(names: Mapping[uuid.UUID, str], key: uuid.UUID | None) -> str:
    """The name of an object, or its id when it has none."""
    return names.get(key, "") if key is not None else ""
