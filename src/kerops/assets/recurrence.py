"""Due dates of maintenance plans: pure calendar arithmetic in a locale's wall time (no I/O).

Every occurrence is a local date computed from the plan's anchor (``start + k * N`` units, never
by chaining clamped dates), placed at :data:`LOCAL_DUE_TIME` on that date in the locale's zone and
then converted to UTC. The rules (see docs/maintenance-plans.md):

- day / week: ``N`` or ``7 * N`` calendar days of wall time (a DST change never shifts the hour);
- month / year: ``k * N`` months (12 per year) from the anchor, the day clamped to the month's
  length (Jan 31 + 1 month = Feb 28/29, + 2 months = Mar 31; Feb 29 + 1 year = Feb 28);
- a local time that does not exist (spring-forward gap) moves forward by the gap;
- an ambiguous local time (fall-back) takes its first occurrence (``fold=0``).
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: The local time of day at which a date plan falls due (the start of the working day).
LOCAL_DUE_TIME = time(8, 0)


class IntervalUnit(enum.StrEnum):
    """The unit of a date plan's interval."""

    day = "day"
    week = "week"
    month = "month"
    year = "year"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One due date: the local date, the instant it falls due and when its work is generated."""

    local_date: date
    due_at: datetime
    generate_at: datetime


def add_months(start: date, months: int) -> date:
    """``start`` moved by ``months`` calendar months, the day clamped to the target month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if not 1 <= year <= 9999:
        raise OverflowError("date out of range")
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def occurrence_date(start: date, unit: IntervalUnit, count: int, k: int) -> date:
    """The ``k``-th local date of the series ``start, start + N, start + 2N, ...``."""
    if unit is IntervalUnit.day:
        return start + timedelta(days=k * count)
    if unit is IntervalUnit.week:
        return start + timedelta(days=7 * k * count)
    if unit is IntervalUnit.month:
        return add_months(start, k * count)
    return add_months(start, 12 * k * count)


def local_to_utc(local_date: date, tz: ZoneInfo, at: time = LOCAL_DUE_TIME) -> datetime:
    """The UTC instant of ``at`` on ``local_date`` in ``tz``.

    A wall time inside a spring-forward gap moves forward by the gap; an ambiguous one takes the
    first of its two instants. Both follow from PEP 495 with ``fold=0``: the offset in force before
    the transition is used.
    """
    local = datetime.combine(local_date, at.replace(tzinfo=None, fold=0), tzinfo=tz)
    return local.astimezone(UTC)


def _occurrence(local_date: date, tz: ZoneInfo, lead_time_days: int, at: time) -> Occurrence:
    due_at = local_to_utc(local_date, tz, at)
    generate_at = local_to_utc(local_date - timedelta(days=lead_time_days), tz, at)
    return Occurrence(local_date=local_date, due_at=due_at, generate_at=generate_at)


def _months_per_step(unit: IntervalUnit, count: int) -> int:
    return count * (12 if unit is IntervalUnit.year else 1)


def _first_index_guess(start: date, unit: IntervalUnit, count: int, local_after: date) -> int:
    """An index whose occurrence is before ``local_after`` (or 0): the search starts there."""
    if unit in (IntervalUnit.day, IntervalUnit.week):
        step = count * (7 if unit is IntervalUnit.week else 1)
        return max(0, (local_after - start).days // step - 1)
    months = (local_after.year - start.year) * 12 + local_after.month - start.month
    return max(0, months // _months_per_step(unit, count) - 1)


def occurrences(
    *,
    start: date,
    unit: IntervalUnit,
    count: int,
    tz: ZoneInfo,
    after: datetime,
    lead_time_days: int = 0,
    first_index: int = 0,
    at: time = LOCAL_DUE_TIME,
) -> Iterator[Occurrence]:
    """The occurrences ``start + k * N`` (``k >= first_index``) due at or after ``after``.

    The series ends quietly where dates run out of the calendar's range (year 9999).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    try:
        local_after = after.astimezone(tz).date()
    except OverflowError:
        return
    k = max(first_index, _first_index_guess(start, unit, count, local_after))
    while True:
        try:
            found = _occurrence(occurrence_date(start, unit, count, k), tz, lead_time_days, at)
        except (OverflowError, ValueError):
            return
        if found.due_at >= after:
            yield found
        k += 1


def next_occurrences(
    *,
    start: date,
    unit: IntervalUnit,
    count: int,
    tz: ZoneInfo,
    after: datetime,
    limit: int,
    lead_time_days: int = 0,
    first_index: int = 0,
    at: time = LOCAL_DUE_TIME,
) -> list[Occurrence]:
    """The first ``limit`` occurrences due at or after ``after``."""
    result: list[Occurrence] = []
    if limit <= 0:
        return result
    for found in occurrences(
        start=start,
        unit=unit,
        count=count,
        tz=tz,
        after=after,
        lead_time_days=lead_time_days,
        first_index=first_index,
        at=at,
    ):
        result.append(found)
        if len(result) >= limit:
            break
    return result


def completion_series(
    *, start: date, last_completed_at: datetime | None, tz: ZoneInfo
) -> tuple[date, int]:
    """The anchor and first index of a completion-anchored plan.

    After a completion the series restarts from the local date of that completion, its first due
    date one interval later (index 1); before any completion it runs from ``start`` (index 0).
    """
    if last_completed_at is None:
        return start, 0
    return last_completed_at.astimezone(tz).date(), 1


def meter_thresholds(*, next_due: float, interval: float, limit: int) -> list[float]:
    """The next ``limit`` meter values at which a meter plan falls due."""
    return [next_due + k * interval for k in range(max(0, limit))]
