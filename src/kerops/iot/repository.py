"""SQL of IoT readings: bulk idempotent inserts, series by time range, retention deletes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    and_,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access, row_scope
from kerops.core.principal import Principal
from kerops.iot.models import IoTReading

#: SQLite rows per INSERT statement (its bound-parameter limit is 32766).
SQLITE_ROWS_PER_STATEMENT = 5000
_SQLITE_INSERT = (
    "INSERT INTO iot_readings (device_id, metric, value, device_time, received_at, message_id) "
    "VALUES {values} ON CONFLICT DO NOTHING RETURNING device_id, message_id, metric, device_time"
)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


#: INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING: one statement and six
#: parameters whatever the batch size (asyncpg sends the arrays in binary).
PG_INSERT = (
    "INSERT INTO iot_readings (device_id, metric, value, device_time, received_at, message_id) "
    "SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::float8[], $4::timestamptz[], "
    "$5::timestamptz[], $6::varchar[]) "
    "ON CONFLICT DO NOTHING RETURNING device_id, message_id, metric, device_time"
)

#: What identifies a stored reading: (device id, message id, metric, device time); the device
#: time may be left out (None) when there is a message id.
StoredKey = tuple[uuid.UUID, str | None, str, datetime | None]


async def insert_readings(
    session: AsyncSession,
    *,
    device_id: list[uuid.UUID],
    metric: list[str],
    value: list[float],
    device_time: list[datetime],
    message_id: list[str | None],
    received_at: datetime,
) -> list[StoredKey]:
    """Store readings (given column by column), skipping any stored already (same device and
    message id, or without message id: same device, metric and device time); returns the key of
    each row stored."""
    if not value:
        return []
    received = [received_at] * len(value)
    if _is_postgres(session):
        # Straight on the session's asyncpg connection (same transaction): SQLAlchemy would
        # process every array element in Python, which costs more than the insert itself.
        connection = await session.connection()
        await row_scope.apply(connection)
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        records = await raw.fetch(
            PG_INSERT, device_id, metric, value, device_time, received, message_id
        )
        return [(r[0], r[1], r[2], r[3]) for r in records]
    return await _sqlite_insert(
        session, device_id, metric, value, device_time, received_at, message_id
    )


def _sqlite_time(at: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite (so text comparisons stay right)."""
    at = at.astimezone(UTC)
    return f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond:06d}"


async def _sqlite_insert(
    session: AsyncSession,
    device_id: list[uuid.UUID],
    metric: list[str],
    value: list[float],
    device_time: list[datetime],
    received_at: datetime,
    message_id: list[str | None],
) -> list[StoredKey]:
    # Multi-row VALUES straight on the session's aiosqlite connection (same transaction), with
    # the values in the column types' stored forms (UUID hex, UTC text): SQLAlchemy would
    # process each value in Python, which costs more than the insert itself.
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    devices = {d.hex: d for d in set(device_id)}
    received = _sqlite_time(received_at)
    times = [_sqlite_time(at) for at in device_time]
    stored: list[StoredKey] = []
    for start in range(0, len(value), SQLITE_ROWS_PER_STATEMENT):
        end = start + SQLITE_ROWS_PER_STATEMENT
        params: list[Any] = []
        for row in zip(
            device_id[start:end],
            metric[start:end],
            value[start:end],
            times[start:end],
            message_id[start:end],
            strict=True,
        ):
            params += (row[0].hex, row[1], row[2], row[3], received, row[4])
        rows = len(params) // 6
        # Only "?" placeholders are joined into the text: every value is a bound parameter.
        statement = _SQLITE_INSERT.format(values=",".join(["(?,?,?,?,?,?)"] * rows))
        cursor = await raw.execute(statement, params)
        # Times are parsed only where they identify the reading (~3 µs each).
        stored.extend(
            (
                devices[r[0]],
                r[1],
                r[2],
                None if r[1] is not None else datetime.fromisoformat(r[3]).replace(tzinfo=UTC),
            )
            for r in await cursor.fetchall()
        )
        await cursor.close()
    return stored


def _in_range(device_id: uuid.UUID, start: datetime, end: datetime, metric: str | None) -> Any:
    clauses = [
        IoTReading.device_id == device_id,
        IoTReading.device_time >= start,
        IoTReading.device_time < end,
    ]
    if metric is not None:
        clauses.append(IoTReading.metric == metric)
    return and_(*clauses)


async def raw_page(
    session: AsyncSession,
    *,
    device_id: uuid.UUID,
    start: datetime,
    end: datetime,
    metric: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
    principal: Principal,
) -> Sequence[Any]:
    """Up to ``limit`` readings of the range after the keyset position ``after``, oldest first
    (those ``principal`` may read: readings follow their device)."""
    stmt = select(IoTReading).where(
        _in_range(device_id, start, end, metric), access.predicate(IoTReading, principal)
    )
    if after is not None:
        at, last_id = after
        stmt = stmt.where(
            or_(
                IoTReading.device_time > at,
                and_(IoTReading.device_time == at, IoTReading.id > last_id),
            )
        )
    stmt = stmt.order_by(IoTReading.device_time, IoTReading.id).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def buckets(
    session: AsyncSession,
    *,
    device_id: uuid.UUID,
    start: datetime,
    end: datetime,
    metric: str | None,
    seconds: int,
    principal: Principal,
) -> list[tuple[str, datetime, float, float, float, int]]:
    """(metric, bucket start, min, max, avg, count) of every non-empty bucket, in SQL (of the
    readings ``principal`` may read)."""
    if _is_postgres(session):
        bucket: Any = func.date_bin(
            literal_column(f"interval '{int(seconds)} seconds'"),
            IoTReading.device_time,
            bindparam("origin", _EPOCH, type_=DateTime(timezone=True)),
        )
    else:
        # SQLite keeps UTC text: bucket by integer epoch seconds.
        epoch = cast(func.strftime("%s", IoTReading.device_time), Integer)
        bucket = (epoch // seconds) * seconds
    labelled = bucket.label("bucket")
    stmt = (
        select(
            IoTReading.metric,
            labelled,
            func.min(IoTReading.value),
            func.max(IoTReading.value),
            func.avg(IoTReading.value),
            func.count(),
        )
        .where(_in_range(device_id, start, end, metric), access.predicate(IoTReading, principal))
        .group_by(IoTReading.metric, labelled)
        .order_by(labelled, IoTReading.metric)
    )
    out = []
    for name, at, low, high, mean, count in await session.execute(stmt):
        when = at if isinstance(at, datetime) else datetime.fromtimestamp(int(at), UTC)
        out.append((name, when.astimezone(UTC), float(low), float(high), float(mean), int(count)))
    return out


async def previous_values(
    session: AsyncSession, wanted: list[tuple[uuid.UUID, str, datetime]]
) -> dict[tuple[uuid.UUID, str], tuple[float, datetime]]:
    """For each (device, metric, before): the last stored reading earlier than ``before``."""
    if not wanted:
        return {}
    parts = [
        select(IoTReading.device_id, IoTReading.metric, IoTReading.value, IoTReading.device_time)
        .where(
            IoTReading.device_id == device_id,
            IoTReading.metric == metric,
            IoTReading.device_time < before,
        )
        .order_by(IoTReading.device_time.desc())
        .limit(1)
        .subquery()
        .select()
        for device_id, metric, before in wanted
    ]
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    rows = await session.execute(stmt)
    return {(r[0], r[1]): (float(r[2]), r[3]) for r in rows}


async def last_times(
    session: AsyncSession, pairs: Sequence[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], datetime]:
    """The newest device time of each (device, metric) that has readings (an index lookup)."""
    if not pairs:
        return {}
    stmt = (
        select(IoTReading.device_id, IoTReading.metric, func.max(IoTReading.device_time))
        .where(tuple_(IoTReading.device_id, IoTReading.metric).in_(list(pairs)))
        .group_by(IoTReading.device_id, IoTReading.metric)
    )
    result: dict[tuple[uuid.UUID, str], datetime] = {}
    for device_id, metric, at in await session.execute(stmt):
        if at is not None:
            # max() of SQLite text comes back untyped: read it as the column would.
            result[(device_id, metric)] = _as_utc(at)
    return result


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def delete_older_than(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to ``limit`` readings measured before ``cutoff``; returns how many."""
    oldest = select(IoTReading.id).where(IoTReading.device_time < cutoff).limit(limit)
    result = await session.execute(
        delete(IoTReading)
        .where(IoTReading.id.in_(oldest.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
