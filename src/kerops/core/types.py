"""Portable column types: UTC timestamps and string-stored enums for SQLite and PostgreSQL."""

from __future__ import annotations

import enum
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 v7): index-friendly keys and a stable keyset order."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFFFFFFFFFF) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & 0x3FFFFFFFFFFFFFFF
    return uuid.UUID(int=value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """``datetime`` (keyset cursors decode their sort values by it)."""
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            # asyncpg already reads TIMESTAMP WITH TIME ZONE as aware UTC datetimes: no call per
            # value (a list page of tickets has ~350 of them).
            return None
        return super().result_processor(dialect, coltype)


class StrEnum(TypeDecorator[enum.Enum]):
    """A Python enum stored as its string value in a VARCHAR (same on SQLite and PostgreSQL)."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_class: type[enum.Enum], length: int = 32, **kw: Any) -> None:
        super().__init__(length, **kw)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(self.enum_class(value).value)

    def process_result_value(self, value: Any, dialect: Dialect) -> enum.Enum | None:
        if value is None:
            return None
        return self.enum_class(value)


#: Quantities are stored as whole thousandths of their unit (a scaled integer, never a float).
QUANTITY_SCALE = 1000


def quantity_to_stored(value: Decimal | int) -> int:
    """``value`` in thousandths; a ValueError if it has more than three decimals."""
    scaled = Decimal(value) * QUANTITY_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError("a quantity has at most three decimals")
    return int(scaled)


def thousandths_to_minor(product: int) -> int:
    """A stored quantity (thousandths) times a price or cost in minor units, back in minor
    units rounded half up: the one rounding of what quantities are worth (a purchase order's
    line, a ticket's part, a stock's value). ``product`` is not negative."""
    return (product + QUANTITY_SCALE // 2) // QUANTITY_SCALE


def quantity_from_stored(value: int) -> Decimal:
    """Thousandths read back as a Decimal without trailing zeros (``2500`` → ``2.5``)."""
    whole, part = divmod(abs(value), QUANTITY_SCALE)
    sign = "-" if value < 0 else ""
    fraction = f"{part:03d}".rstrip("0")
    return Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")


class Quantity(TypeDecorator[Decimal]):
    """An exact quantity of a unit (2.5 m of cable), a ``BIGINT`` of thousandths on both
    databases: sums and conditional updates stay integer arithmetic in SQL."""

    impl = BigInteger
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        """``Decimal`` (keyset cursors decode their sort values by it)."""
        return Decimal

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        return None if value is None else quantity_to_stored(value)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else quantity_from_stored(int(value))
