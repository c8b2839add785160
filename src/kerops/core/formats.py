"""Dates, numbers and money as a reader of each language writes them (Babel).

es-CL writes ``07-12-2026 14:30``, ``1.234,5`` and ``$ 1.234.567``; English ``7 Dec 2026, 14:30``,
``1,234.5`` and ``CLP 1,234,567``. A date-time is shown in the reader's time zone (their
``users.timezone``; America/Santiago when it is unknown). Every function takes the language
explicitly, or uses the request's (:func:`kerops.core.i18n.current_language`).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_currency, format_decimal

from kerops.core.i18n import CATALOG_DIRS, current_language, supported

#: The time zone of a reader whose own is unknown.
DEFAULT_TIMEZONE = "America/Santiago"
#: The patterns of each language (CLDR's; es-CL's short forms carry a two-digit year).
DATETIME_PATTERNS = {"es-CL": "dd-MM-yyyy HH:mm", "en": "d MMM yyyy, HH:mm"}
DATE_PATTERNS = {"es-CL": "dd-MM-yyyy", "en": "d MMM yyyy"}
#: The currency sign, a space, then the amount with the currency's own decimals.
MONEY_PATTERN = "¤ #,##0.00"


def _language(language: str | None) -> str:
    return supported(language) or current_language()


@cache
def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIMEZONE)


def format_datetime(
    value: datetime, language: str | None = None, *, timezone: str | None = None
) -> str:
    """An instant in the reader's time zone: ``07-12-2026 14:30`` (es-CL)."""
    lang = _language(language)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(_zone(timezone))
    return _format_datetime(local, DATETIME_PATTERNS[lang], locale=CATALOG_DIRS[lang])


def format_day(value: date, language: str | None = None) -> str:
    """A calendar date: ``07-12-2026`` (es-CL), ``7 Dec 2026`` (en)."""
    lang = _language(language)
    return _format_date(value, DATE_PATTERNS[lang], locale=CATALOG_DIRS[lang])


def format_number(value: float | int | Decimal, language: str | None = None) -> str:
    """A number with the language's separators: ``1.234,5`` (es-CL), ``1,234.5`` (en)."""
    lang = _language(language)
    return format_decimal(value, locale=CATALOG_DIRS[lang])


def format_money(
    amount: float | int | Decimal, currency: str = "CLP", language: str | None = None
) -> str:
    """An amount with its currency's decimals: ``$ 1.234.567`` (CLP, es-CL)."""
    lang = _language(language)
    return format_currency(amount, currency, format=MONEY_PATTERN, locale=CATALOG_DIRS[lang])


def parse_instant(text: object) -> datetime | None:
    """An ISO instant kept in an event's payload, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_day(text: object) -> date | None:
    """An ISO date kept in an event's payload, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
