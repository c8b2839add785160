"""Business-time arithmetic of the SLA clock: examples and hypothesis properties (weekends,
holidays, pauses, DST in America/Santiago and Europe/Madrid)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerops.core.sla_clock import (
    CALENDAR,
    DEFAULT_BUSINESS_HOURS,
    BusinessCalendar,
    normalise_business_hours,
)
from kerops.operations.sla import ClosedDays, holiday_subdivision, public_holidays

SANTIAGO = ZoneInfo("America/Santiago")
MADRID = ZoneInfo("Europe/Madrid")
CHILE = ClosedDays(country="CL", subdivision=None, extra=frozenset())
SPAIN = ClosedDays(country="ES", subdivision=None, extra=frozenset())
ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

OFFICE = BusinessCalendar.from_hours(DEFAULT_BUSINESS_HOURS, SANTIAGO, CHILE)
SPLIT_SHIFTS = BusinessCalendar.from_hours(
    {
        **{day: [["08:30", "13:00"], ["14:00", "19:30"]] for day in ALL_DAYS[:5]},
        "sat": [["10:00", "14:00"]],
    },
    MADRID,
    SPAIN,
)
#: Open around the clock: every DST change falls inside business time.
ALWAYS = BusinessCalendar.from_hours({day: [["00:00", "24:00"]] for day in ALL_DAYS}, SANTIAGO)
#: Night shifts around midnight, where Santiago changes its clocks.
NIGHTS_HOURS = {day: [["00:00", "06:00"], ["22:00", "24:00"]] for day in ALL_DAYS}
NIGHTS = BusinessCalendar.from_hours(NIGHTS_HOURS, SANTIAGO, CHILE)
MADRID_WEEK = BusinessCalendar.from_hours(
    {day: [["09:00", "18:00"]] for day in ALL_DAYS}, MADRID, frozenset()
)

CALENDARS = st.sampled_from([OFFICE, SPLIT_SHIFTS, ALWAYS, NIGHTS, MADRID_WEEK])
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
MINUTES = st.integers(min_value=0, max_value=28 * 24 * 60)
PROPS = settings(max_examples=150, deadline=None)


def _transition_days(tz: ZoneInfo, first_year: int, last_year: int) -> list[date]:
    """The local dates on which ``tz`` changes its UTC offset."""
    days = []
    day = date(first_year, 1, 1)
    while day.year <= last_year:
        before = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).utcoffset()
        if before != after:
            days.append(day)
        day += timedelta(days=1)
    return days


SANTIAGO_DST = _transition_days(SANTIAGO, 2020, 2035)
MADRID_DST = _transition_days(MADRID, 2020, 2035)


def add_minutes(cal: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    return cal.add(start, timedelta(minutes=minutes))


def _local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


# --- properties ----------------------------------------------------------------------------------


@PROPS
@given(cal=CALENDARS, start=INSTANTS, minutes=MINUTES)
def test_adding_then_measuring_returns_the_minutes(
    cal: BusinessCalendar, start: datetime, minutes: int
) -> None:
    end = add_minutes(cal, start, minutes)
    assert cal.between(start, end) == timedelta(minutes=minutes)


@PROPS
@given(cal=CALENDARS, start=INSTANTS, a=MINUTES, b=MINUTES)
def test_adding_is_monotonic(cal: BusinessCalendar, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert add_minutes(cal, start, low) <= add_minutes(cal, start, high)
    sooner, later = start + timedelta(minutes=low), start + timedelta(minutes=high)
    assert cal.between(start, sooner) <= cal.between(start, later)


@PROPS
@given(cal=CALENDARS, start=INSTANTS, minutes=st.integers(min_value=1, max_value=40320))
def test_a_deadline_never_lands_in_closed_time(
    cal: BusinessCalendar, start: datetime, minutes: int
) -> None:
    end = add_minutes(cal, start, minutes)
    # Inside an open interval, or exactly at its close (the last business minute ends there).
    assert cal.is_open(end - timedelta(microseconds=1))


@PROPS
@given(cal=CALENDARS, start=INSTANTS, a=MINUTES, b=MINUTES)
def test_adding_in_two_steps_equals_adding_once(
    cal: BusinessCalendar, start: datetime, a: int, b: int
) -> None:
    assert add_minutes(cal, add_minutes(cal, start, a), b) == add_minutes(cal, start, a + b)


@PROPS
@given(
    cal=CALENDARS,
    start=INSTANTS,
    target=st.integers(min_value=1, max_value=20000),
    pause_from=st.integers(min_value=0, max_value=30 * 24 * 60),
    pause_for=st.integers(min_value=0, max_value=30 * 24 * 60),
)
def test_a_pause_moves_the_deadline_out_by_the_business_time_paused(
    cal: BusinessCalendar, start: datetime, target: int, pause_from: int, pause_for: int
) -> None:
    due = add_minutes(cal, start, target)
    paused_at = min(start + timedelta(minutes=pause_from), due)
    resumed_at = paused_at + timedelta(minutes=pause_for)
    paused = cal.between(paused_at, resumed_at)
    # Moving the deadline by the pause is the same as resuming with what was left of the target.
    moved = cal.add(due, paused)
    left = cal.between(paused_at, due)
    assert moved == cal.add(resumed_at, left) or not left
    # And the running time from start to the new deadline, minus the pause, is the target.
    assert cal.between(start, moved) - paused == timedelta(minutes=target)


@PROPS
@given(start=INSTANTS, minutes=st.integers(min_value=1, max_value=40320))
def test_weekends_and_holidays_are_skipped(start: datetime, minutes: int) -> None:
    end = add_minutes(OFFICE, start, minutes)
    last_minute = (end - timedelta(microseconds=1)).astimezone(SANTIAGO)
    assert last_minute.weekday() < 5
    assert last_minute.date() not in public_holidays("CL", None, last_minute.year)
    assert time(9) <= last_minute.time() < time(18)


@settings(max_examples=100, deadline=None)
@given(day=st.sampled_from(SANTIAGO_DST + MADRID_DST))
def test_a_nine_to_six_day_is_nine_hours_on_dst_change_days(day: date) -> None:
    for tz in (SANTIAGO, MADRID):
        cal = BusinessCalendar.from_hours(
            {d: [["09:00", "18:00"]] for d in ALL_DAYS}, tz, frozenset()
        )
        (span,) = cal.day_intervals(day)
        assert span[1] - span[0] == timedelta(hours=9)
        opening = span[0]
        assert opening.astimezone(tz).time() == time(9)
        assert cal.add(opening, timedelta(hours=9)).astimezone(tz).time() == time(18)


@settings(max_examples=100, deadline=None)
@given(day=st.sampled_from(SANTIAGO_DST), minutes=st.integers(min_value=0, max_value=3 * 1440))
def test_round_the_clock_time_across_santiago_changes_is_real_time(day: date, minutes: int) -> None:
    start = datetime.combine(day - timedelta(days=1), time(12), tzinfo=SANTIAGO).astimezone(UTC)
    assert add_minutes(ALWAYS, start, minutes) == start + timedelta(minutes=minutes)
    assert add_minutes(CALENDAR, start, minutes) == start + timedelta(minutes=minutes)


# --- examples ------------------------------------------------------------------------------------


def test_a_friday_evening_target_runs_into_monday() -> None:
    start = _local(SANTIAGO, 2026, 11, 20, 17, 0)  # a Friday
    assert add_minutes(OFFICE, start, 120) == _local(SANTIAGO, 2026, 11, 23, 10, 0)


def test_chilean_public_holidays_are_closed() -> None:
    # Thursday 17 September 2026, 17:00: Friday 18 and Saturday 19 are national holidays.
    start = _local(SANTIAGO, 2026, 9, 17, 17, 0)
    assert add_minutes(OFFICE, start, 120) == _local(SANTIAGO, 2026, 9, 21, 10, 0)


def test_a_regional_holiday_applies_to_its_region_only() -> None:
    nuble = holiday_subdivision("CL", "Ñuble")
    assert nuble == "NB" and holiday_subdivision("CL", "nb") == "NB"
    assert holiday_subdivision("CL", "Somewhere") is None
    regional = BusinessCalendar.from_hours(
        DEFAULT_BUSINESS_HOURS, SANTIAGO, ClosedDays("CL", nuble, frozenset())
    )
    start = _local(SANTIAGO, 2026, 8, 19, 17, 0)  # Wednesday; 20 August is Chillán's holiday
    assert add_minutes(regional, start, 120) == _local(SANTIAGO, 2026, 8, 21, 10, 0)
    assert add_minutes(OFFICE, start, 120) == _local(SANTIAGO, 2026, 8, 20, 10, 0)


def test_extra_closed_dates_are_skipped() -> None:
    closed = ClosedDays("CL", None, frozenset({date(2026, 11, 23)}))
    cal = BusinessCalendar.from_hours(DEFAULT_BUSINESS_HOURS, SANTIAGO, closed)
    start = _local(SANTIAGO, 2026, 11, 20, 17, 0)
    assert add_minutes(cal, start, 120) == _local(SANTIAGO, 2026, 11, 24, 10, 0)


def test_a_start_in_closed_time_counts_from_the_next_opening() -> None:
    start = _local(SANTIAGO, 2026, 11, 21, 3, 0)  # Saturday night
    assert add_minutes(OFFICE, start, 1) == _local(SANTIAGO, 2026, 11, 23, 9, 1)
    assert add_minutes(OFFICE, start, 0) == start
    assert OFFICE.between(start, _local(SANTIAGO, 2026, 11, 23, 9, 0)) == timedelta(0)


def test_a_target_that_ends_at_closing_time_is_due_at_closing_time() -> None:
    start = _local(SANTIAGO, 2026, 11, 24, 17, 0)
    assert add_minutes(OFFICE, start, 60) == _local(SANTIAGO, 2026, 11, 24, 18, 0)


def test_santiago_spring_forward_shortens_a_night_shift_spanning_midnight() -> None:
    # 2026-09-06 00:00 does not exist in Santiago (clocks jump to 01:00): 00:00-06:00 is 5 hours.
    day = date(2026, 9, 6)
    spans = NIGHTS.day_intervals(day)
    assert spans[0][1] - spans[0][0] == timedelta(hours=5)
    assert spans[0][0] == _local(SANTIAGO, 2026, 9, 6, 1, 0)


def test_santiago_fall_back_lengthens_the_hour_before_midnight() -> None:
    # 2026-04-05 00:00 -03 becomes 2026-04-04 23:00 -04: 22:00-24:00 on the 4th is 3 real hours.
    nights = BusinessCalendar.from_hours(NIGHTS_HOURS, SANTIAGO)  # 4 April 2026 is a holiday
    spans = nights.day_intervals(date(2026, 4, 4))
    assert spans[1][1] - spans[1][0] == timedelta(hours=3)
    day_of_change = ALWAYS.between(
        _local(SANTIAGO, 2026, 4, 4, 0, 0), datetime(2026, 4, 5, 4, 0, tzinfo=UTC)
    )
    assert day_of_change == timedelta(hours=25)


def test_madrid_changes_inside_business_time_count_real_time() -> None:
    open_all_night = BusinessCalendar.from_hours(
        {d: [["00:00", "24:00"]] for d in ALL_DAYS}, MADRID
    )
    spring = open_all_night.between(_local(MADRID, 2026, 3, 29, 0, 0), _local(MADRID, 2026, 3, 30))
    autumn = open_all_night.between(
        _local(MADRID, 2026, 10, 25, 0, 0), _local(MADRID, 2026, 10, 26)
    )
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


def test_a_calendar_without_any_open_time_is_refused() -> None:
    closed_forever = BusinessCalendar.from_hours(
        {"mon": [["09:00", "10:00"]]}, SANTIAGO, _EveryDay()
    )
    with pytest.raises(ValueError, match="no business hours"):
        add_minutes(closed_forever, datetime(2026, 1, 1, tzinfo=UTC), 1)


class _EveryDay:
    def __contains__(self, day: object) -> bool:
        return True


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        ({"mon": [["09:00", "09:00"]]}, "start before it ends"),
        ({"mon": [["18:00", "09:00"]]}, "start before it ends"),
        ({"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}, "overlaps"),
        ({"mon": [["9:00", "18:00"]]}, "HH:MM"),
        ({"mon": [["09:00", "24:01"]]}, "HH:MM"),
        ({"mon": [["24:00", "24:00"]]}, "HH:MM"),
        ({"monday": [["09:00", "18:00"]]}, "unknown weekday"),
        ({"mon": []}, "at least one day"),
        ({"mon": [["09:00", "10:00"]] * 7}, "at most"),
    ],
)
def test_bad_business_hours_are_refused(hours: dict[str, list[list[str]]], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalise_business_hours(hours)


def test_business_hours_are_normalised() -> None:
    clean = normalise_business_hours({"tue": [["14:00", "18:00"], ["08:00", "13:00"]]})
    assert clean["tue"] == [["08:00", "13:00"], ["14:00", "18:00"]]
    assert clean["mon"] == [] and list(clean) == list(ALL_DAYS)
