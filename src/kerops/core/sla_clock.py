"""The SLA clock: calendar time, or the business time of a locale (pure arithmetic, no I/O).

A locale's business time is its working intervals (weekday → local ``[start, end]`` wall times),
minus its public holidays and extra closed days. The arithmetic:

- Each interval's ends are wall times of that local date converted with :mod:`zoneinfo`
  (PEP 495, ``fold=0``): a wall time inside a spring-forward gap moves forward by the gap, an
  ambiguous one takes its first occurrence. A 09:00-18:00 day is therefore nine hours on every
  date, DST change days included; an interval that spans a change (e.g. 00:00-08:00 in
  America/Santiago, which changes at midnight) is as long as the real time between its ends.
- ``24:00`` ends an interval at the next midnight, where the next day's ``00:00`` may go on.
- :meth:`BusinessCalendar.add` returns the earliest instant at which the given business time has
  been consumed: never inside closed time (at most at the close of an interval); adding zero
  returns the start itself.
- :meth:`BusinessCalendar.between` is the business time inside ``[start, end)``; so
  ``between(t, add(t, d)) == d`` for any ``d >= 0``.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

#: Weekday keys of business hours, Monday first (``date.weekday()`` order).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Business hours of a locale that names none: Monday to Friday, 09:00-18:00.
DEFAULT_BUSINESS_HOURS: dict[str, list[list[str]]] = {
    day: ([["09:00", "18:00"]] if day not in ("sat", "sun") else []) for day in WEEKDAYS
}
#: More intervals than this in one day is a data-entry mistake.
MAX_INTERVALS_PER_DAY = 6
#: A calendar without open time in this many consecutive days is refused (it would never end).
MAX_CLOSED_RUN_DAYS = 400

MINUTE = timedelta(minutes=1)
_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_DAY_MINUTES = 24 * 60


class ClockKind(enum.StrEnum):
    """Which time an SLA policy's targets run in."""

    calendar = "calendar"  # every minute counts
    business = "business"  # only the locale's business hours count


class Clock(Protocol):
    """Measures and adds SLA time."""

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which ``amount`` of clock time has run from ``start``."""
        ...

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The clock time that runs in ``[start, end)`` (zero when ``end <= start``)."""
        ...


class CalendarClock:
    """Every minute counts."""

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """``start + amount``."""
        if amount < timedelta(0):
            raise ValueError("amount must not be negative")
        return start + amount

    def between(self, start: datetime, end: datetime) -> timedelta:
        """``end - start``, never negative."""
        return max(end - start, timedelta(0))


CALENDAR = CalendarClock()


# --- business hours as data ----------------------------------------------------------------------


def _minutes(value: str, *, allow_24: bool) -> int:
    if allow_24 and value == "24:00":
        return _DAY_MINUTES
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValueError(f"{value!r} is not a time HH:MM (00:00 to 23:59; an end may be 24:00)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def normalise_business_hours(value: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """Validate business hours and return them with every weekday, intervals sorted.

    ``{"mon": [["09:00", "13:00"], ["14:00", "18:00"]], ...}``: a weekday left out is closed;
    each interval starts before it ends, intervals of a day do not overlap, and the week has at
    least one open interval. Raises ``ValueError`` with the first problem found.
    """
    unknown = [key for key in value if key not in WEEKDAYS]
    if unknown:
        raise ValueError(f"unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}")
    result: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        spans = value.get(day) or []
        if len(spans) > MAX_INTERVALS_PER_DAY:
            raise ValueError(f"{day}: at most {MAX_INTERVALS_PER_DAY} intervals a day")
        parsed: list[tuple[int, int, str, str]] = []
        for span in spans:
            if len(span) != 2:
                raise ValueError(f"{day}: an interval is [start, end]")
            start, end = str(span[0]), str(span[1])
            lo, hi = _minutes(start, allow_24=False), _minutes(end, allow_24=True)
            if lo >= hi:
                raise ValueError(f"{day}: {start}-{end} must start before it ends")
            parsed.append((lo, hi, start, end))
        parsed.sort()
        for previous, current in itertools.pairwise(parsed):
            if current[0] < previous[1]:
                raise ValueError(
                    f"{day}: {previous[2]}-{previous[3]} overlaps {current[2]}-{current[3]}"
                )
        result[day] = [[start, end] for _, _, start, end in parsed]
    if not any(result.values()):
        raise ValueError("at least one day needs business hours")
    return result


# --- business time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BusinessCalendar:
    """The business time of one locale: its zone, weekly hours and closed dates."""

    tz: ZoneInfo
    #: Per weekday (Monday first): intervals as (start, end) minutes after local midnight.
    week: tuple[tuple[tuple[int, int], ...], ...]
    #: Public holidays and extra closed days (any container of local dates).
    closed: Container[date] = field(default_factory=frozenset)

    @classmethod
    def from_hours(
        cls,
        hours: Mapping[str, Sequence[Sequence[str]]],
        tz: ZoneInfo | str,
        closed: Container[date] = frozenset(),
    ) -> BusinessCalendar:
        """A calendar from business hours as stored on a locale (validated here)."""
        clean = normalise_business_hours(hours)
        week = tuple(
            tuple((_minutes(s, allow_24=False), _minutes(e, allow_24=True)) for s, e in clean[day])
            for day in WEEKDAYS
        )
        return cls(tz=tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz), week=week, closed=closed)

    def _instant(self, day: date, minute: int) -> datetime:
        local_day = day + timedelta(days=minute // _DAY_MINUTES)
        rest = minute % _DAY_MINUTES
        local = datetime.combine(local_day, time(rest // 60, rest % 60, fold=0), tzinfo=self.tz)
        return local.astimezone(UTC)

    def day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of one local date, as UTC instants (none on a closed date)."""
        if day in self.closed:
            return []
        spans = []
        for lo, hi in self.week[day.weekday()]:
            start, end = self._instant(day, lo), self._instant(day, hi)
            if start < end:
                spans.append((start, end))
        return spans

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in time order, never overlapping, from the local date before ``start``."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last_end: datetime | None = None
        closed_run = 0
        while True:
            spans = self.day_intervals(day)
            closed_run = 0 if spans else closed_run + 1
            if closed_run > MAX_CLOSED_RUN_DAYS:
                raise ValueError(f"no business hours in {MAX_CLOSED_RUN_DAYS} days")
            for lo, hi in spans:
                if last_end is not None and lo < last_end:
                    lo = last_end  # wall time that ran backwards: count real time once
                if lo < hi:
                    yield lo, hi
                    last_end = hi
            day += timedelta(days=1)

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant by which ``amount`` of business time has run from ``start``."""
        if amount < timedelta(0):
            raise ValueError("amount must not be negative")
        if not amount:
            return start
        remaining = amount
        for lo, hi in self.intervals(start):
            if hi <= start:
                continue
            begin = max(lo, start)
            if remaining <= hi - begin:
                return begin + remaining
            remaining -= hi - begin
        raise AssertionError("unreachable: intervals() never ends")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The business time inside ``[start, end)``."""
        total = timedelta(0)
        if end <= start:
            return total
        for lo, hi in self.intervals(start):
            if lo >= end:
                break
            if hi > start:
                total += min(hi, end) - max(lo, start)
        return total

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` is inside business time (the close of an interval is not)."""
        for lo, hi in self.intervals(at):
            if lo > at:
                return False
            if lo <= at < hi:
                return True
        raise AssertionError("unreachable: intervals() never ends")  # pragma: no cover
