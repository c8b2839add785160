"""Ticket metrics: counts, MTTR, response time, planned vs unplanned, SLA compliance, backlog
and first-time fix rate (docs/analytics.md gives each formula). Each is one statement that adds
up per local day (a daily rollup can answer the same rows), folded into buckets here."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from kerops.analytics.base import (
    MetricResult,
    Point,
    Source,
    fold,
    hours,
    points,
    ratio,
    ticket_conditions,
    total,
)
from kerops.analytics.periods import (
    DAY_SECONDS,
    Filters,
    Group,
    Zones,
    bucket_last_day,
    bucket_starts,
    local_midnight,
)
from kerops.analytics.sqlfn import epoch
from kerops.core.enums import TicketStatus
from kerops.core.types import UTCDateTime
from kerops.operations.models import ServiceTicket, TicketHistory, TicketTask
from kerops.tenancy.models import Locale

T = ServiceTicket
H = TicketHistory
S = TicketStatus
#: The states whose time MTTR leaves out (the SLA clock's pauses).
PAUSED = (S.on_hold, S.waiting_parts, S.waiting_approval)
#: Age buckets of the backlog: (name, most days old), the last open-ended.
AGES = (("age_0_7", 7), ("age_8_30", 30), ("age_31_90", 90), ("age_over_90", None))
ONE = literal(1, Integer)
ZERO = literal(0, Integer)


def _days(
    zones: Zones, instant: Any, columns: list[Any], where: list[Any], source_from: Any = T
) -> Select[Any]:
    """Per local day of ``instant`` (in the ticket's locale's zone), ``columns`` added up; the
    day computed in a subquery so that GROUP BY names a column on both databases."""
    inner = (
        select(zones.local_day(instant, Locale.timezone).label("day"), *columns)
        .select_from(source_from)
        .join(Locale, Locale.id == T.locale_id)
        .where(zones.within(instant, Locale.timezone), *where)
        .subquery()
    )
    sums = [func.sum(c) for c in list(inner.c)[1:]]
    return select(inner.c.day, *sums).group_by(inner.c.day)


# --- tickets ------------------------------------------------------------------------------------


async def tickets(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Tickets created (not cancelled), completed and cancelled per bucket."""
    base = ticket_conditions(filters, source)
    created = _days(
        zones,
        T.created_at,
        [ONE.label("c"), ZERO.label("d"), ZERO.label("x")],
        [*base, T.status != S.cancelled],
    )
    completed = _days(
        zones,
        T.completed_at,
        [ZERO.label("c"), ONE.label("d"), ZERO.label("x")],
        [*base, T.status == S.completed],
    )
    cancelled = _days(
        zones,
        T.cancelled_at,
        [ZERO.label("c"), ZERO.label("d"), ONE.label("x")],
        [*base, T.status == S.cancelled],
    )
    rows = await source.run(union_all(created, completed, cancelled))  # type: ignore[arg-type]
    names = ("created", "completed", "cancelled")
    buckets = fold(rows, filters, group, names)
    sums = total(buckets, names)
    return MetricResult(
        metric="tickets",
        unit="count",
        value=int(sums["created"]),
        values={k: int(v) for k, v in sums.items()},
        points=points(buckets, filters, group, lambda b: int(b["created"])),
    )


# --- MTTR ---------------------------------------------------------------------------------------


def mttr_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day of completion: corrective tickets completed, and their repair seconds
    (first move to in progress → completed, less the time paused after it)."""
    done = [
        *ticket_conditions(filters, source),
        T.status == S.completed,
        T.maintenance_plan_id.is_(None),
        T.completed_at >= literal(zones.lo, UTCDateTime),
        T.completed_at < literal(zones.hi, UTCDateTime),
    ]
    candidates = select(T.id).where(*done)
    moves = (
        select(
            H.ticket_id,
            H.to_status,
            H.created_at,
            func.lead(H.created_at)
            .over(partition_by=H.ticket_id, order_by=(H.created_at, H.id))
            .label("next_at"),
        )
        .where(H.ticket_id.in_(candidates))
        .cte("moves")
    )
    starts = (
        select(moves.c.ticket_id, func.min(moves.c.created_at).label("started_at"))
        .where(moves.c.to_status == S.in_progress)
        .group_by(moves.c.ticket_id)
        .cte("starts")
    )
    pauses = (
        select(
            moves.c.ticket_id,
            func.sum(
                epoch(func.coalesce(moves.c.next_at, T.completed_at)) - epoch(moves.c.created_at)
            ).label("paused"),
        )
        .join(starts, starts.c.ticket_id == moves.c.ticket_id)
        .join(T, T.id == moves.c.ticket_id)
        .where(moves.c.to_status.in_(PAUSED), moves.c.created_at >= starts.c.started_at)
        .group_by(moves.c.ticket_id)
        .cte("pauses")
    )
    repair = epoch(T.completed_at) - epoch(starts.c.started_at) - func.coalesce(pauses.c.paused, 0)
    return _days(
        zones,
        T.completed_at,
        [ONE.label("n"), repair.label("seconds")],
        done,
        source_from=T.__table__.join(starts, starts.c.ticket_id == T.id).outerjoin(
            pauses, pauses.c.ticket_id == T.id
        ),
    )


async def mttr(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Mean time to repair in hours, per bucket of completion."""
    rows = await source.run(mttr_statement(zones, filters, source))
    names = ("completed", "repair_seconds")
    buckets = fold(rows, filters, group, names)
    sums = total(buckets, names)
    return MetricResult(
        metric="mttr",
        unit="hours",
        value=hours(sums["repair_seconds"], sums["completed"]),
        values={"completed": int(sums["completed"])},
        points=points(
            buckets,
            filters,
            group,
            lambda b: hours(b["repair_seconds"], b["completed"]),
            lambda b: {"completed": int(b["completed"])},
        ),
    )


# --- response time ------------------------------------------------------------------------------


def response_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day of first acceptance: tickets accepted and their seconds created →
    accepted."""
    firsts = (
        select(H.ticket_id, func.min(H.created_at).label("accepted_at"))
        .where(H.client_id == filters.client_id, H.to_status == S.accepted)
        .group_by(H.ticket_id)
        .subquery("firsts")
    )
    accepted = firsts.c.accepted_at
    waited = epoch(accepted) - epoch(T.created_at)
    return _days(
        zones,
        accepted,
        [ONE.label("n"), waited.label("seconds")],
        [*ticket_conditions(filters, source), T.status != S.cancelled],
        source_from=T.__table__.join(firsts, firsts.c.ticket_id == T.id),
    )


async def response(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Mean response time (created → first accepted) in hours, per bucket of acceptance."""
    rows = await source.run(response_statement(zones, filters, source))
    names = ("accepted", "seconds")
    buckets = fold(rows, filters, group, names)
    sums = total(buckets, names)
    return MetricResult(
        metric="response_time",
        unit="hours",
        value=hours(sums["seconds"], sums["accepted"]),
        values={"accepted": int(sums["accepted"])},
        points=points(
            buckets,
            filters,
            group,
            lambda b: hours(b["seconds"], b["accepted"]),
            lambda b: {"accepted": int(b["accepted"])},
        ),
    )


# --- planned vs unplanned -----------------------------------------------------------------------


def planned_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day of creation: tickets (not cancelled) from a plan, and corrective ones."""
    from_plan = case((T.maintenance_plan_id.is_not(None), 1), else_=0)
    return _days(
        zones,
        T.created_at,
        [from_plan.label("planned"), (1 - from_plan).label("unplanned")],
        [*ticket_conditions(filters, source), T.status != S.cancelled],
    )


async def planned(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Tickets created from a maintenance plan vs corrective ones, per bucket of creation."""
    stmt = planned_statement(zones, filters, source)
    names = ("planned", "unplanned")
    buckets = fold(await source.run(stmt), filters, group, names)
    sums = total(buckets, names)

    def share(b: dict[str, float]) -> float | None:
        return ratio(b["planned"], b["planned"] + b["unplanned"])

    return MetricResult(
        metric="planned_ratio",
        unit="percent",
        value=share(sums),
        values={k: int(v) for k, v in sums.items()},
        points=points(buckets, filters, group, share),
    )


# --- SLA compliance -----------------------------------------------------------------------------


def _sla_part(
    zones: Zones, filters: Filters, source: Source, due: Any, breached: Any, done: Any, first: bool
) -> Select[Any]:
    met = case((and_(breached.is_(False), done.is_not(None)), 1), else_=0)
    missed = case((breached.is_(True), 1), else_=0)
    cols = [met, missed, ZERO, ZERO] if first else [ZERO, ZERO, met, missed]
    labels = ("rm", "rb", "sm", "sb")
    return _days(
        zones,
        due,
        [c.label(n) for c, n in zip(cols, labels, strict=True)],
        [*ticket_conditions(filters, source), T.status != S.cancelled, due.is_not(None)],
    )


def sla_statement(zones: Zones, filters: Filters, source: Source) -> Any:
    """Per local day of the due time: response targets met and breached, then resolution's."""
    return union_all(
        _sla_part(
            zones,
            filters,
            source,
            T.sla_response_due_at,
            T.sla_response_breached,
            T.responded_at,
            True,
        ),
        _sla_part(
            zones,
            filters,
            source,
            T.sla_resolution_due_at,
            T.sla_resolution_breached,
            T.resolved_at,
            False,
        ),
    )


async def sla(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """SLA compliance of response and resolution, per bucket of the target's due time."""
    stmt = sla_statement(zones, filters, source)
    names = ("response_met", "response_breached", "resolution_met", "resolution_breached")
    buckets = fold(await source.run(stmt), filters, group, names)  # type: ignore[arg-type]
    sums = total(buckets, names)
    return MetricResult(
        metric="sla",
        unit="percent",
        value=_sla_overall(sums),
        values=_sla_values(sums),
        points=points(buckets, filters, group, _sla_overall, _sla_values),
    )


def _sla_overall(b: dict[str, float]) -> float | None:
    met = b["response_met"] + b["resolution_met"]
    return ratio(met, met + b["response_breached"] + b["resolution_breached"])


def _sla_values(b: dict[str, float]) -> dict[str, Any]:
    values: dict[str, Any] = {k: int(v) for k, v in b.items()}
    values["response_pct"] = ratio(b["response_met"], b["response_met"] + b["response_breached"])
    values["resolution_pct"] = ratio(
        b["resolution_met"], b["resolution_met"] + b["resolution_breached"]
    )
    return values


# --- backlog ------------------------------------------------------------------------------------


def backlog_ends(
    zones: Zones, filters: Filters, group: Group, now: datetime
) -> list[tuple[str, int, datetime]]:
    """(zone, bucket index, instant) of each bucket's end in each zone: the instant after its
    last day, at most now."""
    starts = bucket_starts(filters.start, filters.end, group)
    ends = []
    for index, first in enumerate(starts):
        last = bucket_last_day(first, group, filters.end)
        for name in zones.names:
            ends.append((name, index, min(local_midnight(last + timedelta(days=1), name), now)))
    return ends


def backlog_statement(
    filters: Filters, source: Source, ends: list[tuple[str, int, datetime]]
) -> Select[Any]:
    """Per bucket: the tickets open at its end, by age."""
    rows = [
        select(
            literal(name).label("tz"),
            literal(index, Integer).label("k"),
            literal(at, UTCDateTime).label("end_at"),
        )
        for name, index, at in ends
    ]
    table = union_all(*rows).cte("ends") if len(rows) > 1 else rows[0].cte("ends")
    closed = func.coalesce(T.completed_at, T.cancelled_at)
    age = (epoch(table.c.end_at) - epoch(T.created_at)) // literal(DAY_SECONDS, Integer)
    columns: list[Any] = [func.count()]
    low = None
    for _, most in AGES:
        inside = age > low if low is not None else None
        if most is not None:
            inside = and_(inside, age <= most) if inside is not None else age <= most
        columns.append(func.sum(case((inside, 1), else_=0)) if inside is not None else ZERO)
        low = most
    return (
        select(table.c.k, *columns)
        .select_from(T)
        .join(Locale, Locale.id == T.locale_id)
        .join(
            table,
            and_(
                table.c.tz == Locale.timezone,
                T.created_at < table.c.end_at,
                or_(closed.is_(None), closed >= table.c.end_at),
            ),
        )
        .where(
            *ticket_conditions(filters, source),
            # Before the join: only tickets open at some end (the first, the last) take part.
            T.created_at < literal(max(at for _, _, at in ends), UTCDateTime),
            or_(closed.is_(None), closed >= literal(min(at for _, _, at in ends), UTCDateTime)),
        )
        .group_by(table.c.k)
    )


async def backlog(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Tickets open at the end of each bucket, by age."""
    ends = backlog_ends(zones, filters, group, source.now)
    found = {int(r[0]): r[1:] for r in await source.run(backlog_statement(filters, source, ends))}
    names = ["open", *(name for name, _ in AGES)]
    series = []
    for index, first in enumerate(bucket_starts(filters.start, filters.end, group)):
        counts = found.get(index)
        values = {n: int(counts[i] or 0) if counts else 0 for i, n in enumerate(names)}
        last = bucket_last_day(first, group, filters.end)
        series.append((first, last, values))
    final = series[-1][2] if series else dict.fromkeys(names, 0)
    return MetricResult(
        metric="backlog",
        unit="count",
        value=final["open"],
        values=dict(final),
        points=[Point(start=s, end=e, value=v["open"], values=dict(v)) for s, e, v in series],
    )


# --- first-time fix -----------------------------------------------------------------------------


def first_time_fix_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day of completion: corrective tickets completed, and those never reopened
    and without a follow-up ticket."""
    reopened = exists().where(H.ticket_id == T.id, H.to_status == S.reopened)
    followed = exists().where(
        TicketTask.ticket_id == T.id, TicketTask.follow_up_ticket_id.is_not(None)
    )
    first = case((and_(~reopened, ~followed), 1), else_=0)
    return _days(
        zones,
        T.completed_at,
        [ONE.label("n"), first.label("first")],
        [
            *ticket_conditions(filters, source),
            T.status == S.completed,
            T.maintenance_plan_id.is_(None),
        ],
    )


async def first_time_fix(
    source: Source, zones: Zones, filters: Filters, group: Group
) -> MetricResult:
    """Corrective tickets completed in each bucket, and those fixed the first time (never
    reopened, no follow-up ticket)."""
    stmt = first_time_fix_statement(zones, filters, source)
    names = ("completed", "first_time")
    buckets = fold(await source.run(stmt), filters, group, names)
    sums = total(buckets, names)

    def rate(b: dict[str, float]) -> float | None:
        return ratio(b["first_time"], b["completed"])

    return MetricResult(
        metric="first_time_fix",
        unit="percent",
        value=rate(sums),
        values={k: int(v) for k, v in sums.items()},
        points=points(buckets, filters, group, rate),
    )
