"""Periods, buckets and local time: what every metric shares.

A period is a range of local dates (``from``/``to``, both included); each locale counts its own
instants by its own time zone. SQL gets the time zone's offsets as a ``CASE`` over the zone's
transitions within the period (computed here with ``zoneinfo``), so an instant's local day is
``(epoch seconds + offset) / 86400`` on both databases, with no time zone support in SQLite.
Metrics aggregate per local day in SQL; days fold into weeks (Monday first) or months here.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Integer, and_, case, literal, type_coerce

from kerops.analytics.sqlfn import epoch
from kerops.core.enums import TicketPriority
from kerops.core.types import UTCDateTime

EPOCH_DAY = date(1970, 1, 1)
DAY_SECONDS = 86_400
#: The time zone of the default period's "today", and of a locale whose zone is unknown.
DEFAULT_TIMEZONE = "America/Santiago"
#: The longest period a request may ask for, in days.
MAX_PERIOD_DAYS = 3 * 366


class Group(enum.StrEnum):
    """The width of a series' buckets."""

    day = "day"
    week = "week"
    month = "month"


@dataclass(frozen=True, slots=True)
class Filters:
    """What a metric is computed over: a client, a period of local dates (both included) and
    the optional filters of the API."""

    client_id: uuid.UUID
    start: date
    end: date
    locale_id: uuid.UUID | None = None
    area_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    category: str | None = None
    vendor_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    priority: TicketPriority | None = None
    source: str | None = None

    def previous(self) -> Filters:
        """The same filters over the period of the same length just before this one."""
        days = (self.end - self.start).days + 1
        return _replace(
            self, start=self.start - timedelta(days=days), end=self.start - timedelta(1)
        )

    def widened(self, start: date) -> Filters:
        """The same filters from ``start`` to this period's end."""
        return _replace(self, start=start)


def _replace(filters: Filters, **changes: Any) -> Filters:
    return dataclasses.replace(filters, **changes)


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last 12 months: a year back from today (in ``DEFAULT_TIMEZONE``), today included."""
    end = today or datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()
    try:
        year_ago = end.replace(year=end.year - 1)
    except ValueError:  # 29 February
        year_ago = end.replace(year=end.year - 1, day=28)
    return year_ago + timedelta(days=1), end


def day_number(day: date) -> int:
    """A date as whole days since 1970-01-01 (what ``local_day`` answers)."""
    return (day - EPOCH_DAY).days


def day_of(number: int) -> date:
    """The date of a day number."""
    return EPOCH_DAY + timedelta(days=int(number))


def bucket_start(day: date, group: Group) -> date:
    """The first day of the bucket holding ``day``: itself, its week's Monday, its month's 1st."""
    if group is Group.week:
        return day - timedelta(days=day.weekday())
    if group is Group.month:
        return day.replace(day=1)
    return day


def bucket_starts(start: date, end: date, group: Group) -> list[date]:
    """The buckets of a period, in order (the first and last cover only the period's days)."""
    starts: list[date] = []
    day = start
    while day <= end:
        first = bucket_start(day, group)
        if not starts or starts[-1] != first:
            starts.append(first)
        day += timedelta(days=1)
    return starts


def bucket_last_day(first: date, group: Group, end: date) -> date:
    """The last day of the bucket starting ``first`` within a period ending ``end``."""
    if group is Group.week:
        last = first + timedelta(days=6)
    elif group is Group.month:
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = following - timedelta(days=1)
    else:
        last = first
    return min(last, end)


def zone(name: str) -> ZoneInfo:
    """The time zone of a locale (the default one when its name is unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_midnight(day: date, tz: str) -> datetime:
    """The first instant (UTC) of ``day`` in time zone ``tz`` (DST-safe: a day whose midnight
    does not exist begins at the first instant it has)."""
    local = datetime(day.year, day.month, day.day, tzinfo=zone(tz))
    instant = local.astimezone(UTC)
    # zoneinfo reads a skipped midnight with the offset before the gap: the instant it gives is
    # the first one of the day either way; an ambiguous midnight takes its first occurrence.
    return instant


def _offset(tz: ZoneInfo, instant: datetime) -> int:
    offset = instant.astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def transitions(tz: str, lo: datetime, hi: datetime) -> tuple[int, list[tuple[datetime, int]]]:
    """The UTC offset (seconds) of ``tz`` at ``lo``, and each change of it until ``hi``: the
    instant it changes at and the offset after."""
    info = zone(tz)
    first = _offset(info, lo)
    changes: list[tuple[datetime, int]] = []
    current, cursor = first, lo
    while cursor < hi:
        following = min(cursor + timedelta(days=1), hi)
        after = _offset(info, following)
        if after != current:
            low, high = cursor, following  # the change is in (low, high]
            while (high - low) > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(info, middle) == current:
                    low = middle
                else:
                    high = middle
            changes.append((high.replace(microsecond=0), after))
            current = after
        cursor = following
    return first, changes


class Zones:
    """The time zones a metric's rows are counted in, over one period: SQL for an instant's
    local day and for the period's bounds in each zone."""

    def __init__(self, names: Iterable[str], start: date, end: date) -> None:
        self.names = sorted({str(zone(n).key) for n in names} | {DEFAULT_TIMEZONE})
        self.start, self.end = start, end
        self.lo = min(local_midnight(start, n) for n in self.names)
        self.hi = max(local_midnight(end + timedelta(days=1), n) for n in self.names)
        margin = timedelta(days=2)
        self._offsets = {n: transitions(n, self.lo - margin, self.hi + margin) for n in self.names}

    def _inner(self, name: str, instant: Any) -> ColumnElement[int]:
        first, changes = self._offsets[name]
        if not changes:
            return literal(first, Integer)
        steps = []
        before = first
        for at, after in changes:
            steps.append((instant < literal(at, UTCDateTime), literal(before, Integer)))
            before = after
        return case(*steps, else_=literal(before, Integer))

    def offset(self, instant: Any, tz_column: Any) -> ColumnElement[int]:
        """The UTC offset in seconds, at ``instant``, of the zone named by ``tz_column`` (a
        zone not among ``names`` counts as the default one)."""
        whens = [
            (tz_column == literal(name), self._inner(name, instant))
            for name in self.names
            if name != DEFAULT_TIMEZONE
        ]
        default = self._inner(DEFAULT_TIMEZONE, instant)
        return case(*whens, else_=default) if whens else default

    def local_day(self, instant: Any, tz_column: Any) -> ColumnElement[int]:
        """The day number of ``instant``'s local date in the zone named by ``tz_column``."""
        days = (epoch(instant) + self.offset(instant, tz_column)) // literal(DAY_SECONDS, Integer)
        return type_coerce(days, Integer)

    def per_zone(self, tz_column: Any, values: Mapping[str, datetime]) -> ColumnElement[Any]:
        """An instant that depends on the zone: ``values[zone]`` for rows of that zone."""
        whens = [
            (tz_column == literal(name), literal(values[name], UTCDateTime))
            for name in self.names
            if name != DEFAULT_TIMEZONE
        ]
        default = literal(values[DEFAULT_TIMEZONE], UTCDateTime)
        return case(*whens, else_=default) if whens else default

    def starts(self, tz_column: Any) -> ColumnElement[Any]:
        """The period's first instant in each row's zone."""
        return self.per_zone(tz_column, {n: local_midnight(self.start, n) for n in self.names})

    def ends(self, tz_column: Any, now: datetime | None = None) -> ColumnElement[Any]:
        """The instant after the period's last day in each row's zone (at most ``now``)."""
        values = {n: local_midnight(self.end + timedelta(days=1), n) for n in self.names}
        if now is not None:
            values = {n: min(at, now) for n, at in values.items()}
        return self.per_zone(tz_column, values)

    def within(self, instant: Any, tz_column: Any) -> ColumnElement[bool]:
        """Whether ``instant`` falls on a day of the period, in its row's zone (the constant
        bounds first, so an index on the instant is used)."""
        return and_(
            instant >= literal(self.lo, UTCDateTime),
            instant < literal(self.hi, UTCDateTime),
            instant >= self.starts(tz_column),
            instant < self.ends(tz_column),
        )
