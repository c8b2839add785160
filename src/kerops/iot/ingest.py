"""Ingesting readings: one function for HTTP batches and MQTT messages.

A batch is authenticated by one device credential. Each reading is checked on its own; a bad one
is reported by its index and never stops the others. The good ones are stored in the caller's
transaction with one bulk ``INSERT ... ON CONFLICT DO NOTHING`` (no ORM object, no query per
reading), so a re-sent reading is stored once: the same ``message_id``, or without one the same
metric and device time (``ts``). Then, only when
needed: the devices' ``last_seen_at``, the assets' meters, and the rules of the batch's devices.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.config import Settings
from kerops.core import row_scope, sync_log
from kerops.core.errors import Forbidden, PayloadTooLarge, Unauthorized, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.security import hash_token
from kerops.core.types import utcnow
from kerops.iot import alerts, repository
from kerops.iot.models import IoTDevice
from kerops.iot.readings_schemas import IngestResult, Rejected, RejectReason

#: Header carrying the device credential on HTTP.
DEVICE_KEY_HEADER = "X-Device-Key"
#: Devices of this type may send readings for other devices of their client and locale.
GATEWAY_TYPE = "gateway"
#: Devices of this type feed their asset's meters with every metric they send.
METER_TYPE = "meter"
#: ``last_seen_at`` is written at most this often per device (no row lock per batch).
LAST_SEEN_RESOLUTION = timedelta(seconds=10)

_FIELDS = frozenset({"metric", "value", "ts", "unit", "message_id", "device"})
_METRIC = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_MAX_ABS_VALUE = 1e15
_DEVICE_COLUMNS = (
    IoTDevice.id,
    IoTDevice.client_id,
    IoTDevice.locale_id,
    IoTDevice.asset_id,
    IoTDevice.serial_number,
    IoTDevice.device_type,
    IoTDevice.unit,
    IoTDevice.metrics,
    IoTDevice.status,
    IoTDevice.last_seen_at,
    Asset.meter_readings,
)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What ingestion needs to know of a device (read with its asset's meter names)."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID
    asset_id: uuid.UUID
    serial_number: str
    device_type: str
    unit: str
    metrics: dict[str, str]
    status: str
    last_seen_at: datetime | None
    meter_names: frozenset[str]

    @classmethod
    def of(cls, row: Any) -> DeviceInfo:
        """Build from a row of ``_DEVICE_COLUMNS``."""
        metrics = {str(k): str(v) for k, v in (row.metrics or {}).items()}
        metrics[row.device_type] = row.unit
        return cls(
            id=row.id,
            client_id=row.client_id,
            locale_id=row.locale_id,
            asset_id=row.asset_id,
            serial_number=row.serial_number,
            device_type=row.device_type,
            unit=row.unit,
            metrics=metrics,
            status=row.status,
            last_seen_at=row.last_seen_at,
            meter_names=frozenset((row.meter_readings or {}).keys()),
        )

    def is_meter(self, metric: str) -> bool:
        """Whether readings of ``metric`` set the asset's meter of that name."""
        return self.device_type == METER_TYPE or metric in self.meter_names


async def authenticate(session: AsyncSession, key: str | None) -> DeviceInfo:
    """The device whose credential ``key`` is (401 otherwise; 403 when it is inactive)."""
    if not key or len(key) > 200 or not key.startswith("kdv_"):
        raise Unauthorized(gettext("A device key is required (X-Device-Key)."))
    stmt = (
        select(*_DEVICE_COLUMNS)
        .join(Asset, Asset.id == IoTDevice.asset_id)
        .where(IoTDevice.credential_hash == hash_token(key))
    )
    with row_scope.platform():  # whose device this is, is not known yet
        row = (await session.execute(stmt)).first()
    if row is None:
        raise Unauthorized(gettext("Invalid device key."))
    device = DeviceInfo.of(row)
    # The rest of the request (or message) reads and writes the device's client's rows only.
    row_scope.use(row_scope.of_client(device.client_id))
    if device.status == "inactive":
        raise Forbidden(gettext("This device is inactive."), code="device_inactive")
    return device


def parse_batch(body: bytes, settings: Settings) -> list[Any]:
    """The list of readings of a JSON batch (``{"readings": [...]}`` or a bare list)."""
    if len(body) > settings.iot_max_body_bytes:
        raise PayloadTooLarge(
            gettext(
                "A batch body may have at most {limit} bytes.",
                limit=settings.iot_max_body_bytes,
            ),
            code="batch_too_large",
        )
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Unprocessable(
            gettext("The body is not valid JSON."),
            code="malformed_batch",
            errors=[field_error(("body",), gettext("invalid JSON"), "json_invalid")],
        ) from exc
    return batch_of(data, settings)


def batch_of(data: Any, settings: Settings) -> list[Any]:
    """The readings of a decoded batch (``{"readings": [...]}`` or a bare list)."""
    if isinstance(data, dict) and set(data) == {"readings"}:
        data = data["readings"]
    if not isinstance(data, list):
        raise Unprocessable(
            gettext('A batch is {"readings": [...]}.'),
            code="malformed_batch",
            errors=[
                field_error(
                    ("body", "readings"), gettext("a list of readings is required"), "missing"
                )
            ],
        )
    if len(data) > settings.iot_max_batch:
        raise PayloadTooLarge(
            gettext(
                "A batch may have at most {maximum} readings; split it.",
                maximum=settings.iot_max_batch,
            ),
            code="batch_too_large",
        )
    return data


def _time_of(ts: Any, now: datetime) -> datetime | str:
    """The device time of ``ts`` (RFC 3339 with offset, or Unix seconds), or why not."""
    if ts is None:
        return now
    if type(ts) is str:
        if len(ts) > 40:
            return "ts is too long"
        try:
            at = datetime.fromisoformat(ts)
        except ValueError:
            return "ts is not an RFC 3339 timestamp"
        if at.tzinfo is None:
            return "ts needs a UTC offset (or Z)"
        return at.astimezone(UTC)
    if type(ts) is int or type(ts) is float:
        if not math.isfinite(ts) or not 0 <= ts < 32503680000:
            return "ts is out of range"
        return datetime.fromtimestamp(ts, UTC)
    return "ts must be a string or a number"


async def _other_devices(
    session: AsyncSession, device: DeviceInfo, readings: list[Any]
) -> dict[str, DeviceInfo]:
    """For a gateway: the devices its readings name (same client and locale), by serial."""
    if device.device_type != GATEWAY_TYPE:
        return {}
    serials = {
        entry["device"]
        for entry in readings
        if type(entry) is dict and type(entry.get("device")) is str
    }
    serials.discard(device.serial_number)
    if not serials:
        return {}
    stmt = (
        select(*_DEVICE_COLUMNS)
        .join(Asset, Asset.id == IoTDevice.asset_id)
        .where(
            IoTDevice.client_id == device.client_id,
            IoTDevice.locale_id == device.locale_id,
            IoTDevice.serial_number.in_(sorted(serials)[:1000]),
        )
    )
    return {row.serial_number: DeviceInfo.of(row) for row in await session.execute(stmt)}


@dataclass(slots=True)
class Columns:
    """Checked readings, column by column (what the bulk insert sends)."""

    device_id: list[uuid.UUID] = field(default_factory=list)
    metric: list[str] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    device_time: list[datetime] = field(default_factory=list)
    message_id: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.value)


async def ingest(
    session: AsyncSession,
    *,
    device: DeviceInfo,
    readings: list[Any],
    settings: Settings,
    now: datetime | None = None,
) -> IngestResult:
    """Check and store a batch of readings of ``device`` (a gateway: of its devices too), then
    update last contact, meters and rules; nothing is committed here."""
    now = now or utcnow()
    latest = now + timedelta(seconds=settings.iot_max_future_seconds)
    earliest = now - timedelta(days=settings.iot_max_past_days)
    others = await _other_devices(session, device, readings)
    rejected: list[Rejected] = []
    checked = Columns()
    sources: dict[uuid.UUID, DeviceInfo] = {device.id: device}
    seen: set[tuple[uuid.UUID, str]] = set()
    seen_times: set[tuple[uuid.UUID, str, datetime]] = set()
    duplicates = 0
    # Metrics already checked, per device: a batch repeats a handful of names.
    units: dict[tuple[uuid.UUID, str], str | None] = {}
    add_device, add_metric = checked.device_id.append, checked.metric.append
    add_value, add_time = checked.value.append, checked.device_time.append
    add_message = checked.message_id.append
    fromisoformat, isfinite = datetime.fromisoformat, math.isfinite

    def refuse(index: int, reason: RejectReason, detail: str) -> None:
        rejected.append(Rejected(index=index, reason=reason, detail=detail))

    for index, entry in enumerate(readings):
        if type(entry) is not dict:
            refuse(index, RejectReason.malformed, "a reading is an object")
            continue
        if not entry.keys() <= _FIELDS:
            unknown = ", ".join(sorted(str(k) for k in entry.keys() - _FIELDS))[:100]
            refuse(index, RejectReason.malformed, f"unknown field(s): {unknown}")
            continue
        source = device
        serial = entry.get("device")
        if serial is not None and serial != device.serial_number:
            if type(serial) is not str:
                refuse(index, RejectReason.malformed, "device must be a serial number")
                continue
            other = others.get(serial)
            if other is None:
                refuse(index, RejectReason.unknown_device, "no such device behind this gateway")
                continue
            if other.status == "inactive":
                refuse(index, RejectReason.device_inactive, "the device is inactive")
                continue
            source = sources[other.id] = other
        metric = entry.get("metric")
        if type(metric) is not str:
            refuse(index, RejectReason.malformed, "metric must be a string")
            continue
        unit_key = (source.id, metric)
        if unit_key in units:
            unit = units[unit_key]
        else:
            if not _METRIC.fullmatch(metric):
                refuse(index, RejectReason.malformed, "metric must match [A-Za-z0-9_.:-]{1,64}")
                continue
            unit = units[unit_key] = source.metrics.get(metric)
        value: Any = entry.get("value")
        kind = type(value)
        if kind is not float and kind is not int:
            refuse(index, RejectReason.malformed, "value must be a number")
            continue
        message_id = entry.get("message_id")
        if message_id is not None and (
            type(message_id) is not str or not 0 < len(message_id) <= 64 or "\x00" in message_id
        ):
            refuse(index, RejectReason.malformed, "message_id must be a string of 1 to 64")
            continue
        ts = entry.get("ts")
        if type(ts) is str and len(ts) <= 40:
            try:
                at = fromisoformat(ts)
            except ValueError:
                refuse(index, RejectReason.malformed, "ts is not an RFC 3339 timestamp")
                continue
            if at.tzinfo is None:
                refuse(index, RejectReason.malformed, "ts needs a UTC offset (or Z)")
                continue
        else:
            when = _time_of(ts, now)
            if type(when) is str:
                refuse(index, RejectReason.malformed, when)
                continue
            assert isinstance(when, datetime)
            at = when
        if unit is None:
            refuse(index, RejectReason.unknown_metric, f"the device has no metric {metric!r}")
            continue
        given_unit = entry.get("unit")
        if given_unit is not None and given_unit != unit:
            refuse(index, RejectReason.wrong_unit, f"{metric} is measured in {unit!r}")
            continue
        if kind is int:
            try:
                value = float(value)
            except OverflowError:
                value = math.inf
        if not isfinite(value) or abs(value) > _MAX_ABS_VALUE:
            refuse(index, RejectReason.value_not_finite, "value must be finite (|value| ≤ 1e15)")
            continue
        if at > latest:
            refuse(index, RejectReason.time_in_future, "device time is ahead of the server")
            continue
        if at < earliest:
            refuse(index, RejectReason.time_too_old, "device time is too far in the past")
            continue
        if message_id is not None:
            key = (source.id, message_id)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
        elif ts is not None:
            # No message id: a reading of the device's time is known by its metric and time.
            timed = (source.id, metric, at)
            if timed in seen_times:
                duplicates += 1
                continue
            seen_times.add(timed)
        add_device(source.id)
        add_metric(metric)
        add_value(value)
        add_time(at)
        add_message(message_id)

    stored = await repository.insert_readings(
        session,
        device_id=checked.device_id,
        metric=checked.metric,
        value=checked.value,
        device_time=checked.device_time,
        message_id=checked.message_id,
        received_at=now,
    )
    accepted = len(stored)
    duplicates += len(checked) - accepted
    if accepted:
        if accepted < len(checked):
            checked = _only_stored(checked, stored)
        await _after_store(session, checked, sources, now)
    return IngestResult(accepted=accepted, duplicates=duplicates, rejected=rejected)


def _only_stored(checked: Columns, stored: list[repository.StoredKey]) -> Columns:
    kept = {(key[0], key[1]) for key in stored if key[1] is not None}
    kept_times = {(key[0], key[2], key[3]) for key in stored if key[1] is None}
    out = Columns()
    for row in zip(
        checked.device_id,
        checked.metric,
        checked.value,
        checked.device_time,
        checked.message_id,
        strict=True,
    ):
        if (
            (row[0], row[4]) in kept
            if row[4] is not None
            else (row[0], row[1], row[3]) in kept_times
        ):
            out.device_id.append(row[0])
            out.metric.append(row[1])
            out.value.append(row[2])
            out.device_time.append(row[3])
            out.message_id.append(row[4])
    return out


async def _after_store(
    session: AsyncSession,
    new: Columns,
    sources: dict[uuid.UUID, DeviceInfo],
    now: datetime,
) -> None:
    """Last contact, meters and rules for the readings just stored."""
    stale = [
        d.id
        for d in sources.values()
        if d.last_seen_at is None or now - d.last_seen_at >= LAST_SEEN_RESOLUTION
    ]
    if stale:
        await session.execute(
            update(IoTDevice)
            .where(IoTDevice.id.in_(stale))
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    points: dict[tuple[uuid.UUID, str], alerts.Series] = defaultdict(list)
    meters: dict[uuid.UUID, dict[str, tuple[datetime, float]]] = defaultdict(dict)
    meter_sources = {
        d.id: d for d in sources.values() if d.device_type == METER_TYPE or d.meter_names
    }
    for device_id, metric, value, at in zip(
        new.device_id, new.metric, new.value, new.device_time, strict=True
    ):
        points[(device_id, metric)].append((at, value))
        src = meter_sources.get(device_id)
        if src is not None and src.is_meter(metric):
            current = meters[src.asset_id].get(metric)
            if current is None or at >= current[0]:
                meters[src.asset_id][metric] = (at, value)
    for series in points.values():
        series.sort(key=lambda point: point[0])
    if meters:
        await _update_meters(session, meters)
    await alerts.evaluate(session, points=points, now=now)


async def _update_meters(
    session: AsyncSession, meters: dict[uuid.UUID, dict[str, tuple[datetime, float]]]
) -> None:
    """Set each asset's meters to the newest reading of the batch (the preventive-maintenance
    job compares its meter plans with ``Asset.meter_readings``)."""
    stmt = (
        select(Asset.id, Asset.meter_readings)
        .where(Asset.id.in_(list(meters)))
        .order_by(Asset.id)
        .with_for_update()
    )
    for asset_id, current in (await session.execute(stmt)).all():
        merged = dict(current or {})
        merged.update({name: value for name, (_, value) in meters[asset_id].items()})
        await session.execute(
            update(Asset)
            .where(Asset.id == asset_id)
            .values(meter_readings=merged)
            .execution_options(synchronize_session=False)
        )
        sync_log.touched(session, Asset, [asset_id])
