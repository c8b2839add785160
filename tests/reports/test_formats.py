"""The export's fast cell writer writes what Babel's rules write (``kerops.core.formats``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kerops.reports.files import Money, Writer, text

VALUES = [
    0,
    7,
    -1234,
    1234567,
    Decimal("1234.5"),
    Decimal("0.125"),
    Decimal("1000.000"),
    Decimal("-2.5"),
    Decimal("1.23456"),
    Money(Decimal(1234567), "CLP"),
    Money(Decimal(-1234567), "CLP"),
    Money(Decimal("1234.50"), "USD"),
    Money(Decimal(0), "CLP"),
    date(2026, 12, 8),
    date(2026, 1, 31),
    datetime(2026, 12, 8, 3, 4, tzinfo=UTC).astimezone(ZoneInfo("America/Santiago")),
    datetime(2026, 5, 1, 23, 59, tzinfo=ZoneInfo("Europe/Madrid")),
    "texto",
    None,
]


@pytest.mark.parametrize("language", ["es-CL", "en"])
def test_the_fast_writer_writes_what_babel_writes(language: str) -> None:
    writer = Writer(language)
    for value in VALUES:
        assert writer.text(value) == text(value, language), value


def test_es_cl_writes_chilean_pesos_and_dates() -> None:
    writer = Writer("es-CL")
    assert writer.text(Money(Decimal(1234567), "CLP")) == "$ 1.234.567"
    assert writer.text(date(2026, 12, 8)) == "08-12-2026"
    assert writer.text(Decimal("1234.5")) == "1.234,5"
