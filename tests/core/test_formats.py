"""Dates, numbers and money in each language's format (the strings Babel gives, pinned)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from kerops.core import formats
from kerops.core.i18n import reset_language, set_language

#: 17:30 UTC: 14:30 in Santiago in December (UTC-3).
INSTANT = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)


def test_a_date_time_is_written_in_the_readers_zone_and_format() -> None:
    assert formats.format_datetime(INSTANT, "es-CL") == "07-12-2026 14:30"
    assert formats.format_datetime(INSTANT, "en") == "7 Dec 2026, 14:30"
    assert formats.format_datetime(INSTANT, "en", timezone="Europe/London") == "7 Dec 2026, 17:30"
    assert formats.format_datetime(INSTANT, "es-CL", timezone="Asia/Tokyo") == "08-12-2026 02:30"


def test_an_unknown_time_zone_falls_back_to_santiago() -> None:
    assert formats.format_datetime(INSTANT, "es-CL", timezone="Mars/Olympus") == "07-12-2026 14:30"


def test_a_naive_date_time_is_taken_as_utc() -> None:
    naive = INSTANT.replace(tzinfo=None)
    assert formats.format_datetime(naive, "es-CL") == "07-12-2026 14:30"


def test_a_date_is_written_per_language() -> None:
    assert formats.format_day(date(2026, 12, 7), "es-CL") == "07-12-2026"
    assert formats.format_day(date(2026, 12, 7), "en") == "7 Dec 2026"


def test_numbers_take_the_languages_separators() -> None:
    assert formats.format_number(1234.5, "es-CL") == "1.234,5"
    assert formats.format_number(1234.5, "en") == "1,234.5"
    assert formats.format_number(Decimal("1234567"), "es-CL") == "1.234.567"


def test_money_is_written_with_its_currencys_decimals() -> None:
    assert formats.format_money(1234567, "CLP", "es-CL") == "$ 1.234.567"
    assert formats.format_money(1234567, "CLP", "en") == "CLP 1,234,567"
    assert formats.format_money(Decimal("1234.5"), "USD", "es-CL") == "US$ 1.234,50"
    assert formats.format_money(Decimal("1234.5"), "USD", "en") == "$ 1,234.50"


def test_without_a_language_the_requests_is_used() -> None:
    token = set_language("en")
    try:
        assert formats.format_number(1234.5) == "1,234.5"
    finally:
        reset_language(token)
    assert formats.format_number(1234.5) == "1.234,5"


def test_payload_values_that_are_not_dates_are_none() -> None:
    assert formats.parse_instant("2026-12-07T17:30:00+00:00") == INSTANT
    assert formats.parse_instant("mañana") is None and formats.parse_instant(42) is None
    assert formats.parse_day("2026-12-07") == date(2026, 12, 7)
    assert formats.parse_day("07-12-2026") is None and formats.parse_day(None) is None
