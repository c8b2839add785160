"""The metrics by name, the dashboard's overview and what the router asks of them: whose
client, which period, which filters."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select

from kerops.analytics import costs, iot, pm, reliability, tickets, utilisation
from kerops.analytics.base import MetricResult, Number, Source, ratio, zones_of
from kerops.analytics.periods import (
    MAX_PERIOD_DAYS,
    Filters,
    Group,
    Zones,
    day_of,
    default_period,
    local_midnight,
)
from kerops.core.errors import NotFound, Unprocessable, field_error
from kerops.core.i18n import N_, gettext
from kerops.core.principal import Principal

Metric = Callable[[Source, Zones, Filters, Group], Awaitable[MetricResult]]

#: Every series of ``GET /analytics/{metric}``, by name (docs/analytics.md).
METRICS: dict[str, Metric] = {
    "tickets": tickets.tickets,
    "mttr": tickets.mttr,
    "response_time": tickets.response,
    "planned_ratio": tickets.planned,
    "sla": tickets.sla,
    "backlog": tickets.backlog,
    "first_time_fix": tickets.first_time_fix,
    "mtbf": reliability.mtbf,
    "availability": reliability.availability,
    "failures": reliability.failures,
    "pm_compliance": pm.compliance,
    "neglected_plans": pm.neglected,
    "costs": costs.costs,
    "utilisation": utilisation.utilisation,
    "iot_alarms": iot.alarms,
    "iot_readings": iot.readings,
}
METRIC_UNKNOWN = N_("There is no metric '{metric}'.")


def resolve_client(principal: Principal, client_id: uuid.UUID | None) -> uuid.UUID:
    """The client whose metrics are asked for: the caller's own (platform staff name one)."""
    if client_id is not None and (principal.is_staff or client_id == principal.client_id):
        return client_id
    if client_id is None and principal.client_id is not None:
        return principal.client_id
    if client_id is None and principal.is_staff:
        raise Unprocessable(
            gettext("Name the client whose metrics to show."),
            errors=[
                field_error(
                    ("query", "client_id"), gettext("required for platform staff"), "missing"
                )
            ],
        )
    raise NotFound(gettext("client not found"))


def period(start: date | None, end: date | None, today: date | None = None) -> tuple[date, date]:
    """The period asked for (the last 12 months by default); 422 when it runs backwards or is
    longer than three years."""
    _, default_end = default_period(today)
    if end is None:
        end = default_end if start is None else max(start, default_end)
    if start is None:
        start = default_period(end)[0]
    if start > end:
        raise Unprocessable(
            gettext("'from' must not be after 'to'."),
            errors=[
                field_error(("query", "from"), gettext("must not be after 'to'"), "period_invalid")
            ],
        )
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise Unprocessable(
            gettext("A period may span at most three years."),
            errors=[
                field_error(
                    ("query", "from"), gettext("at most three years before 'to'"), "period_too_long"
                )
            ],
        )
    return start, end


async def series(source: Source, filters: Filters, metric: str, group: Group) -> MetricResult:
    """One metric's series and breakdowns over the filters (404 for an unknown metric)."""
    compute = METRICS.get(metric)
    if compute is None:
        raise NotFound(gettext(METRIC_UNKNOWN, metric=metric), code="metric_not_found")
    zones = await zones_of(source, filters)
    return await compute(source, zones, filters, group)


# --- the overview -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Card:
    """A dashboard card: its value over the period and over the period before."""

    key: str
    unit: str
    value: Number
    previous: Number


Builder = Callable[[Zones, Filters, Source], Any]


@dataclass(frozen=True, slots=True)
class Daily:
    """A card computed from one statement's per-day sums: which columns, and the value."""

    key: str
    unit: str
    statement: Builder
    columns: tuple[int, ...]
    names: tuple[str, ...]
    value: Callable[[dict[str, float]], Number]


def _hours(seconds: str, count: str) -> Callable[[dict[str, float]], Number]:
    return lambda s: round(s[seconds] / s[count] / 3600, 2) if s[count] else None


DAILY: tuple[Daily, ...] = (
    Daily(
        "tickets_created",
        "count",
        tickets.planned_statement,
        (1, 2),
        ("planned", "unplanned"),
        lambda s: int(s["planned"] + s["unplanned"]),
    ),
    Daily(
        "planned_ratio",
        "percent",
        tickets.planned_statement,
        (1, 2),
        ("planned", "unplanned"),
        lambda s: ratio(s["planned"], s["planned"] + s["unplanned"]),
    ),
    Daily(
        "mttr", "hours", tickets.mttr_statement, (1, 2), ("n", "seconds"), _hours("seconds", "n")
    ),
    Daily(
        "response_time",
        "hours",
        tickets.response_statement,
        (1, 2),
        ("n", "seconds"),
        _hours("seconds", "n"),
    ),
    Daily(
        "sla",
        "percent",
        tickets.sla_statement,
        (1, 2, 3, 4),
        ("rm", "rb", "sm", "sb"),
        lambda s: ratio(s["rm"] + s["sm"], s["rm"] + s["sm"] + s["rb"] + s["sb"]),
    ),
    Daily(
        "first_time_fix",
        "percent",
        tickets.first_time_fix_statement,
        (1, 2),
        ("n", "first"),
        lambda s: ratio(s["first"], s["n"]),
    ),
    Daily(
        "pm_compliance",
        "percent",
        pm.compliance_statement,
        (1, 2),
        ("due", "on_time"),
        lambda s: ratio(s["on_time"], s["due"]),
    ),
    Daily(
        "costs",
        "minor",
        costs.costs_statement,
        (6, 7),
        ("labour", "parts"),
        lambda s: int(s["labour"] + s["parts"]),
    ),
    Daily(
        "utilisation",
        "percent",
        utilisation.utilisation_statement,
        (3, 4),
        ("w", "s"),
        lambda s: ratio(s["w"], s["s"]),
    ),
    Daily("iot_alarms", "count", iot.alarms_statement, (5,), ("n",), lambda s: int(s["n"])),
)


def _halves(
    rows: Sequence[Sequence[Any]], daily: Daily, current: Filters, previous: Filters
) -> tuple[dict[str, float], dict[str, float]]:
    now = dict.fromkeys(daily.names, 0.0)
    before = dict.fromkeys(daily.names, 0.0)
    for row in rows:
        day = day_of(row[0])
        target = now if current.start <= day <= current.end else None
        if target is None and previous.start <= day <= previous.end:
            target = before
        if target is None:
            continue
        for name, index in zip(daily.names, daily.columns, strict=True):
            target[name] += float(row[index] or 0)
    return now, before


async def overview(source: Source, filters: Filters, previous: Filters | None = None) -> list[Card]:
    """The dashboard's cards over the period and the one before it (by default the days of
    the same number just before): one statement per card over both periods (two for
    availability), whatever the history's size."""
    previous = previous or filters.previous()
    both = filters.widened(previous.start)
    zones = await zones_of(source, both)
    cards: list[Card] = []
    statements: dict[Builder, Sequence[Any]] = {}
    for daily in DAILY:
        if daily.statement not in statements:
            stmt: Select[Any] = daily.statement(zones, both, source)
            statements[daily.statement] = await source.run(stmt)
        now, before = _halves(statements[daily.statement], daily, filters, previous)
        cards.append(Card(daily.key, daily.unit, daily.value(now), daily.value(before)))
    cards.append(await _backlog(source, zones, filters, previous))
    cards.extend(await _availability(source, zones, filters, previous))
    return cards


async def _backlog(source: Source, zones: Zones, filters: Filters, previous: Filters) -> Card:
    """Tickets open at the end of the period and at the end of the one before."""
    ends = [
        (name, index, min(local_midnight(last + timedelta(days=1), name), source.now))
        for index, last in enumerate((previous.end, filters.end))
        for name in zones.names
    ]
    rows = await source.run(tickets.backlog_statement(filters, source, ends))
    found = {int(r[0]): int(r[1]) for r in rows}
    return Card("backlog", "count", found.get(1, 0), found.get(0, 0))


async def _availability(
    source: Source, zones: Zones, filters: Filters, previous: Filters
) -> list[Card]:
    """Availability and downtime over the period and the one before (a statement each)."""
    values = []
    for each in (filters, previous):
        within = Zones(zones.names, each.start, each.end)
        rows = await source.run(reliability.asset_times_statement(within, each, source))
        observed = sum(float(r[5]) for r in rows)
        down = sum(float(r[4]) for r in rows)
        values.append((ratio(observed - down, observed), round(down / 3600, 2)))
    (now_share, now_down), (before_share, before_down) = values
    return [
        Card("availability", "percent", now_share, before_share),
        Card("downtime", "hours", now_down, before_down),
    ]
