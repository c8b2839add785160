"""Due-date arithmetic of maintenance plans: examples and hypothesis properties (DST, month ends,
leap days), in America/Santiago and Europe/Madrid."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerops.assets.recurrence import (
    LOCAL_DUE_TIME,
    IntervalUnit,
    add_months,
    completion_series,
    local_to_utc,
    meter_thresholds,
    next_occurrences,
    occurrence_date,
)

SANTIAGO = ZoneInfo("America/Santiago")
MADRID = ZoneInfo("Europe/Madrid")
ZONES = st.sampled_from([SANTIAGO, MADRID])
UNITS = st.sampled_from(list(IntervalUnit))
STARTS = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
COUNTS = st.integers(min_value=1, max_value=36)
EPOCH = datetime(1980, 1, 1, tzinfo=UTC)
PROPS = settings(max_examples=300, deadline=None)


def _transition_days(tz: ZoneInfo, first_year: int, last_year: int) -> list[date]:
    """The local dates on (or next to) which ``tz`` changes its offset, for targeted examples."""
    days = []
    day = date(first_year, 1, 1)
    while day.year <= last_year:
        noon = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
        nxt = datetime.combine(day + timedelta(days=1), time(12), tzinfo=tz).utcoffset()
        if noon != nxt:
            days += [day, day + timedelta(days=1)]
        day += timedelta(days=1)
    return days


DST_DAYS = st.one_of(
    st.tuples(st.sampled_from(_transition_days(SANTIAGO, 2000, 2040)), st.just(SANTIAGO)),
    st.tuples(st.sampled_from(_transition_days(MADRID, 2000, 2040)), st.just(MADRID)),
)


def reference_date(start: date, unit: IntervalUnit, count: int, n: int) -> date:
    """Start + n * interval, computed independently: whole days, or months walked one by one."""
    if unit is IntervalUnit.day:
        return start + timedelta(days=n * count)
    if unit is IntervalUnit.week:
        return start + timedelta(weeks=n * count)
    months = n * count * (12 if unit is IntervalUnit.year else 1)
    year, month = start.year, start.month
    for _ in range(months):
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def wall_time_exists(local_date: date, at: time, tz: ZoneInfo) -> bool:
    """Whether ``at`` on ``local_date`` is a real wall time in ``tz`` (not in a DST gap)."""
    naive = datetime.combine(local_date, at.replace(fold=0))
    back = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return back == naive


# --- examples ------------------------------------------------------------------------------------


def test_jan_31_monthly_clamps_each_month_from_the_anchor() -> None:
    dates = [occurrence_date(date(2026, 1, 31), IntervalUnit.month, 1, k) for k in range(4)]
    assert dates == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_jan_31_plus_one_month_in_a_leap_year_is_feb_29() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_feb_29_yearly_is_feb_28_in_common_years_and_feb_29_in_leap_years() -> None:
    dates = [occurrence_date(date(2024, 2, 29), IntervalUnit.year, 1, k) for k in range(5)]
    assert dates == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_weekly_plan_keeps_8am_across_santiago_spring_forward() -> None:
    # Chile moves from -04 to -03 on Sunday 2026-09-06.
    found = next_occurrences(
        start=date(2026, 8, 29),
        unit=IntervalUnit.week,
        count=1,
        tz=SANTIAGO,
        after=datetime(2026, 8, 1, tzinfo=UTC),
        limit=3,
    )
    assert [o.due_at for o in found] == [
        datetime(2026, 8, 29, 12, 0, tzinfo=UTC),
        datetime(2026, 9, 5, 12, 0, tzinfo=UTC),
        datetime(2026, 9, 12, 11, 0, tzinfo=UTC),
    ]
    assert all(o.due_at.astimezone(SANTIAGO).time() == LOCAL_DUE_TIME for o in found)


def test_daily_plan_keeps_8am_across_madrid_fall_back() -> None:
    # Spain moves from +02 to +01 on Sunday 2026-10-25.
    found = next_occurrences(
        start=date(2026, 10, 24),
        unit=IntervalUnit.day,
        count=1,
        tz=MADRID,
        after=datetime(2026, 10, 1, tzinfo=UTC),
        limit=2,
    )
    assert [o.due_at for o in found] == [
        datetime(2026, 10, 24, 6, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
    ]


def test_time_in_santiago_gap_moves_forward_by_the_gap() -> None:
    # 2026-09-06 00:00-01:00 does not exist in Santiago: 00:30 becomes 01:30 (-03).
    due = local_to_utc(date(2026, 9, 6), SANTIAGO, time(0, 30))
    assert due == datetime(2026, 9, 6, 4, 30, tzinfo=UTC)
    assert due.astimezone(SANTIAGO).time() == time(1, 30)


def test_time_in_madrid_gap_moves_forward_by_the_gap() -> None:
    due = local_to_utc(date(2026, 3, 29), MADRID, time(2, 30))
    assert due.astimezone(MADRID).time() == time(3, 30)


def test_ambiguous_time_takes_the_first_instant() -> None:
    # 2026-10-25 02:30 happens twice in Madrid: first at +02 (00:30 UTC), then at +01.
    assert local_to_utc(date(2026, 10, 25), MADRID, time(2, 30)) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    # 2026-04-04 23:30 happens twice in Santiago: first at -03 (02:30 UTC on the 5th).
    assert local_to_utc(date(2026, 4, 4), SANTIAGO, time(23, 30)) == datetime(
        2026, 4, 5, 2, 30, tzinfo=UTC
    )


def test_generate_at_is_the_due_date_minus_lead_days_at_the_same_local_time() -> None:
    found = next_occurrences(
        start=date(2026, 9, 10),
        unit=IntervalUnit.month,
        count=1,
        tz=SANTIAGO,
        after=datetime(2026, 9, 1, tzinfo=UTC),
        limit=1,
        lead_time_days=7,
    )
    assert found[0].generate_at == datetime(2026, 9, 3, 12, 0, tzinfo=UTC)
    assert found[0].due_at == datetime(2026, 9, 10, 11, 0, tzinfo=UTC)


def test_occurrences_start_at_the_first_one_at_or_after_the_instant() -> None:
    start = date(2026, 1, 15)
    exactly = local_to_utc(date(2026, 3, 15), SANTIAGO)
    found = next_occurrences(
        start=start, unit=IntervalUnit.month, count=1, tz=SANTIAGO, after=exactly, limit=1
    )
    assert found[0].local_date == date(2026, 3, 15)
    later = next_occurrences(
        start=start,
        unit=IntervalUnit.month,
        count=1,
        tz=SANTIAGO,
        after=exactly + timedelta(seconds=1),
        limit=1,
    )
    assert later[0].local_date == date(2026, 4, 15)


def test_completion_series_restarts_one_interval_after_the_local_completion_date() -> None:
    # 02:00 UTC on the 10th is still the 9th in Santiago.
    completed = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
    assert completion_series(start=date(2026, 1, 1), last_completed_at=completed, tz=SANTIAGO) == (
        date(2026, 6, 9),
        1,
    )
    assert completion_series(start=date(2026, 1, 1), last_completed_at=None, tz=SANTIAGO) == (
        date(2026, 1, 1),
        0,
    )


def test_series_ends_quietly_at_the_end_of_the_calendar() -> None:
    found = next_occurrences(
        start=date(9990, 1, 1),
        unit=IntervalUnit.year,
        count=5,
        tz=SANTIAGO,
        after=datetime(2026, 1, 1, tzinfo=UTC),
        limit=10,
    )
    assert [o.local_date.year for o in found] == [9990, 9995]


def test_meter_thresholds_step_by_the_interval() -> None:
    assert meter_thresholds(next_due=1500.0, interval=500.0, limit=3) == [1500.0, 2000.0, 2500.0]


def test_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        next_occurrences(
            start=date(2026, 1, 1),
            unit=IntervalUnit.day,
            count=1,
            tz=SANTIAGO,
            after=datetime(2026, 1, 1),
            limit=1,
        )


# --- properties ----------------------------------------------------------------------------------


@PROPS
@given(start=STARTS, unit=UNITS, count=COUNTS, tz=ZONES, limit=st.integers(2, 30))
def test_occurrences_strictly_increase(
    start: date, unit: IntervalUnit, count: int, tz: ZoneInfo, limit: int
) -> None:
    found = next_occurrences(start=start, unit=unit, count=count, tz=tz, after=EPOCH, limit=limit)
    assert len(found) == limit
    assert all(a.due_at < b.due_at for a, b in itertools.pairwise(found))
    assert all(a.local_date < b.local_date for a, b in itertools.pairwise(found))


@PROPS
@given(day_zone=DST_DAYS, at=st.times())
def test_wall_time_rule_holds_on_dst_change_days(day_zone: tuple[date, ZoneInfo], at: time) -> None:
    local_date, tz = day_zone
    check_wall_time(local_date, at, tz)


@PROPS
@given(day_zone=DST_DAYS, unit=UNITS, count=COUNTS)
def test_plans_starting_on_dst_change_days_stay_at_8am(
    day_zone: tuple[date, ZoneInfo], unit: IntervalUnit, count: int
) -> None:
    start, tz = day_zone
    found = next_occurrences(start=start, unit=unit, count=count, tz=tz, after=EPOCH, limit=6)
    assert all(o.due_at.astimezone(tz).time() == LOCAL_DUE_TIME for o in found)
    assert all(o.due_at.astimezone(tz).date() == o.local_date for o in found)


@PROPS
@given(start=STARTS, count=COUNTS, k=st.integers(0, 240))
def test_monthly_day_is_the_anchor_day_clamped_to_the_month(
    start: date, count: int, k: int
) -> None:
    got = occurrence_date(start, IntervalUnit.month, count, k)
    assert got.day == min(start.day, calendar.monthrange(got.year, got.month)[1])


@PROPS
@given(start=STARTS, unit=UNITS, count=COUNTS, n=st.integers(0, 120))
def test_nth_occurrence_is_start_plus_n_intervals(
    start: date, unit: IntervalUnit, count: int, n: int
) -> None:
    assert occurrence_date(start, unit, count, n) == reference_date(start, unit, count, n)


@PROPS
@given(start=STARTS, unit=UNITS, count=COUNTS, tz=ZONES)
def test_local_time_is_8am_and_converts_back_to_the_local_date(
    start: date, unit: IntervalUnit, count: int, tz: ZoneInfo
) -> None:
    found = next_occurrences(start=start, unit=unit, count=count, tz=tz, after=EPOCH, limit=12)
    for k, occurrence in enumerate(found):
        local = occurrence.due_at.astimezone(tz)
        assert occurrence.due_at.tzinfo is not None
        assert local.date() == occurrence.local_date == reference_date(start, unit, count, k)
        assert local.time() == LOCAL_DUE_TIME


def check_wall_time(local_date: date, at: time, tz: ZoneInfo) -> None:
    """The wall time is kept, except inside a gap, where it moves forward by the gap."""
    due = local_to_utc(local_date, tz, at)
    at = at.replace(fold=0)  # the rule ignores any fold given with the time
    local = due.astimezone(tz)
    wanted = datetime.combine(local_date, at)
    if wall_time_exists(local_date, at, tz):
        assert local.replace(tzinfo=None) == wanted
        # An ambiguous time resolves to its first instant: the earlier of the two candidates.
        second = datetime.combine(local_date, at, tzinfo=tz).replace(fold=1).astimezone(UTC)
        assert due <= second
    else:
        before = datetime.combine(local_date, at, tzinfo=tz).utcoffset()
        after = local.utcoffset()
        assert before is not None and after is not None
        gap = after - before
        assert gap > timedelta(0)
        assert local.replace(tzinfo=None) == wanted + gap


@PROPS
@given(
    local_date=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    at=st.times(),
    tz=ZONES,
)
def test_wall_time_is_kept_except_inside_a_gap_where_it_moves_forward_by_the_gap(
    local_date: date, at: time, tz: ZoneInfo
) -> None:
    check_wall_time(local_date, at, tz)


@PROPS
@given(
    start=STARTS,
    unit=UNITS,
    count=COUNTS,
    tz=ZONES,
    after=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2120, 1, 1), timezones=st.just(UTC)
    ),
)
def test_first_occurrence_is_the_first_at_or_after_the_instant(
    start: date, unit: IntervalUnit, count: int, tz: ZoneInfo, after: datetime
) -> None:
    found = next_occurrences(start=start, unit=unit, count=count, tz=tz, after=after, limit=1)
    assert found and found[0].due_at >= after
    k = next(
        i for i in range(100_000) if reference_date(start, unit, count, i) == found[0].local_date
    )
    if k > 0:
        previous = local_to_utc(reference_date(start, unit, count, k - 1), tz)
        assert previous < after


@PROPS
@given(year=st.sampled_from([1996, 2000, 2024, 2028, 2096]), n=st.integers(0, 40), tz=ZONES)
def test_leap_day_anchor_falls_on_feb_28_or_29(year: int, n: int, tz: ZoneInfo) -> None:
    got = occurrence_date(date(year, 2, 29), IntervalUnit.year, 1, n)
    assert got.month == 2
    assert got.day == (29 if calendar.isleap(got.year) else 28)
    monthly = occurrence_date(date(year, 2, 29), IntervalUnit.month, 12, n)
    assert monthly == got
    assert local_to_utc(got, tz).astimezone(tz).date() == got
