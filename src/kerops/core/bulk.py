"""Many rows of one table inserted with the driver's own ``executemany``, on the session's
connection and in its transaction (an import's ten thousand assets).

SQLAlchemy's ``execute(insert(table), rows)`` runs every value of every row through the
statement's bind processing (a parameter dictionary per row, a processor call per typed value):
for wide rows it costs more than the INSERT itself. Here each column's values are converted once,
column by column, to what the driver takes (asyncpg: ``uuid.UUID``, timezone-aware ``datetime``,
JSON as text cast to the column's type; ``sqlite3``: the text forms SQLAlchemy stores, a UUID's
hex, ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC), and the rows go in one ``executemany`` of the
driver connection under the session's (``get_raw_connection().driver_connection``).

On PostgreSQL the caller's row scope (``kerops.core.row_scope``) is set on the connection first,
so the row-level security policies check every row as they would a SQLAlchemy statement's. The
statement is not seen by SQLAlchemy: no ``before_cursor_execute``, no ORM event, no audit or sync
log row. The caller writes those (``kerops.core.audit.created_records``,
``kerops.core.sync_log.touched``). A constraint the rows break raises ``RowsRefused``.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from sqlalchemy import JSON, Date, Table, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import TypeEngine

from kerops.core import row_scope
from kerops.core.types import StrEnum, UTCDateTime

#: Converts one value to the driver's form (``None`` stays ``None``).
Convert = Callable[[Any], Any]


class RowsRefused(Exception):
    """The database refused the rows: a unique key or a reference they break (the transaction
    is to be rolled back)."""


def _json_text(value: Any) -> str:
    # As SQLAlchemy's JSON type writes it (the engine keeps ``json.dumps``'s defaults).
    if type(value) is dict and not value:
        return "{}"
    return json.dumps(value)


def _enum_value(enum_class: type[enum.Enum]) -> Convert:
    def convert(value: Any) -> Any:
        return value.value if type(value) is enum_class else enum_class(value).value

    return convert


def _sqlite_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given where a timezone-aware one is required")
    at = value.astimezone(UTC)
    return f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond:06d}"


def _once_each(convert: Convert) -> Convert:
    """``convert``, computed once per distinct value."""
    done: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        found = done.get(value)
        if found is None:
            found = done[value] = convert(value)
        return found

    return cached


def _sqlite_date(value: date) -> str:
    return value.isoformat()


def _uuid_hex(value: uuid.UUID) -> str:
    return value.hex


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given where a timezone-aware one is required")
    return value


def _converter(column_type: TypeEngine[Any], dialect: Dialect) -> Convert | None:
    """What a column's values go through on their way to the driver (``None``: nothing)."""
    postgres = dialect.name == "postgresql"
    if isinstance(column_type, StrEnum):
        return _enum_value(column_type.enum_class)
    if isinstance(column_type, UTCDateTime):
        # (Rows written together mostly share their times: each distinct one written once.)
        return _aware if postgres else _once_each(_sqlite_time)
    if isinstance(column_type.dialect_impl(dialect), JSON):
        return _json_text
    if isinstance(column_type, Uuid):
        return None if postgres else _uuid_hex
    if isinstance(column_type, Date):
        return None if postgres else _sqlite_date
    # Any other type: its own processing for the dialect (none for text, integers, booleans).
    processor: Convert | None = column_type.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _placeholder(table: Table, name: str, position: int, dialect: Dialect) -> str:
    if dialect.name != "postgresql":
        return "?"
    column_type = table.c[name].type
    if isinstance(column_type.dialect_impl(dialect), JSON):
        # The JSON text cast to the column's type (json or jsonb).
        return f"${position}::{column_type.compile(dialect=dialect).lower()}"
    return f"${position}"


def statement(table: Table, columns: Sequence[str], dialect: Dialect) -> str:
    """The INSERT of ``columns`` of ``table`` in the driver's parameter style."""
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    marks = ", ".join(
        _placeholder(table, name, position, dialect)
        for position, name in enumerate(columns, start=1)
    )
    # Only the table's own name and columns (each looked up in it above), quoted.
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608


def to_driver(
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    dialect: Dialect,
    serialised: Collection[str] = (),
) -> list[list[Any]]:
    """``rows`` (each a sequence of ``columns``' values, left as they are) in the driver's form,
    converted one column at a time (the columns in ``serialised``: JSON text already, as is)."""
    converted = [list(row) for row in rows]
    for index, name in enumerate(columns):
        if name in serialised:
            continue
        convert = _converter(table.c[name].type, dialect)
        if convert is None:
            continue
        for row in converted:
            value = row[index]
            if value is not None:
                row[index] = convert(value)
    return converted


async def insert_rows(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    serialised: Collection[str] = (),
) -> None:
    """Insert ``rows`` (each a sequence of ``columns``' values, every column the table needs)
    in one ``executemany`` on the session's connection. The JSON columns named in
    ``serialised`` hold JSON text already."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    sql = statement(table, columns, dialect)
    params = to_driver(table, columns, rows, dialect, serialised)
    driver = await _driver(connection)
    try:
        await driver.executemany(sql, params)
    except (asyncpg.IntegrityConstraintViolationError, sqlite3.IntegrityError) as exc:
        raise RowsRefused(str(exc)) from exc


async def _driver(connection: AsyncConnection) -> Any:
    """The session's driver connection, inside the session's transaction (and on PostgreSQL
    with the caller's row scope set)."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the session's connection is closed")
    postgres = connection.dialect.name == "postgresql"
    if postgres and not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter starts the transaction with the first statement.
        await connection.exec_driver_sql("SELECT 1")
    if not (driver.is_in_transaction() if postgres else driver.in_transaction):
        # (A connection in AUTOCOMMIT: each row would be committed on its own.)
        raise RuntimeError("bulk rows need the session's transaction")
    if postgres:
        await row_scope.apply_raw(driver, raw.info)
    return driver
