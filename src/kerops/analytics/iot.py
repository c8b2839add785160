"""IoT: alarms raised (the ``sensor.alert`` events of threshold rules) per asset and rule, and
the readings devices sent per day (data health), each on its device's locale's local day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, literal, select

from kerops.analytics.base import (
    Breakdown,
    MetricResult,
    Source,
    asset_conditions,
    fold,
    points,
    total,
)
from kerops.analytics.periods import Filters, Group, Zones
from kerops.assets.models import Asset
from kerops.events.models import Event
from kerops.iot.models import IoTDevice, IoTReading, IoTRule
from kerops.tenancy.models import Locale

D = IoTDevice
E = Event
R = IoTRule
MAX_ROWS = 100
#: The event a rule's trip writes (``kerops.iot.alerts``).
ALERT = "sensor.alert"


def _devices(filters: Filters, source: Source) -> Select[Any]:
    assets = select(Asset.id).where(*asset_conditions(filters))
    return select(D.id).where(
        D.client_id == filters.client_id, D.asset_id.in_(assets), source.allowed(D)
    )


def alarms_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day, asset and rule: the alarms raised."""
    inner = (
        select(
            zones.local_day(E.created_at, Locale.timezone).label("day"),
            D.asset_id.label("asset_id"),
            R.id.label("rule_id"),
        )
        .select_from(E)
        .join(R, R.id == E.subject_id)
        .join(D, D.id == R.device_id)
        .join(Locale, Locale.id == D.locale_id)
        .where(
            E.client_id == filters.client_id,
            E.type == ALERT,
            E.subject_type == literal("iot_rule"),
            D.id.in_(_devices(filters, source)),
            zones.within(E.created_at, Locale.timezone),
        )
        .subquery()
    )
    return (
        select(inner.c.day, inner.c.asset_id, Asset.name, inner.c.rule_id, R.name, func.count())
        .select_from(inner)
        .join(Asset, Asset.id == inner.c.asset_id)
        .join(R, R.id == inner.c.rule_id)
        .group_by(inner.c.day, inner.c.asset_id, Asset.name, inner.c.rule_id, R.name)
    )


async def alarms(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Alarms per bucket, and per asset and rule (the most alarming first)."""
    rows = list(await source.run(alarms_statement(zones, filters, source)))
    buckets = fold(((r[0], r[5]) for r in rows), filters, group, ("alarms",))
    pairs: dict[tuple[Any, Any], list[Any]] = {}
    for _day, asset_id, asset_name, rule_id, rule_name, count in rows:
        entry = pairs.setdefault((asset_id, rule_id), [asset_name, rule_name, 0])
        entry[2] += int(count)
    listed = [
        Breakdown(
            kind="asset_rule",
            key=f"{asset_id}:{rule_id}",
            label=f"{asset_name} / {rule_name}",
            value=count,
            values={"asset_id": str(asset_id), "rule_id": str(rule_id), "alarms": count},
        )
        for (asset_id, rule_id), (asset_name, rule_name, count) in sorted(
            pairs.items(), key=lambda kv: (-kv[1][2], kv[1][0], kv[1][1])
        )
    ]
    return MetricResult(
        metric="iot_alarms",
        unit="count",
        value=int(total(buckets, ("alarms",))["alarms"]),
        points=points(buckets, filters, group, lambda b: int(b["alarms"])),
        rows=listed[:MAX_ROWS],
    )


def _reading_days(zones: Zones, filters: Filters, source: Source) -> Any:
    """Per local day and device: the readings it sent (by their device time)."""
    inner = (
        select(
            zones.local_day(IoTReading.device_time, Locale.timezone).label("day"),
            IoTReading.device_id.label("device_id"),
        )
        .select_from(IoTReading)
        .join(D, D.id == IoTReading.device_id)
        .join(Locale, Locale.id == D.locale_id)
        .where(
            IoTReading.device_id.in_(_devices(filters, source)),
            zones.within(IoTReading.device_time, Locale.timezone),
        )
        .subquery()
    )
    return (
        select(inner.c.day, inner.c.device_id, func.count().label("n"))
        .group_by(inner.c.day, inner.c.device_id)
        .subquery("per_day")
    )


async def readings(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Readings per bucket, and per device: readings, days with readings and the mean per day
    of the period (the quietest devices first)."""
    per_day = _reading_days(zones, filters, source)
    by_day = select(per_day.c.day, func.sum(per_day.c.n)).group_by(per_day.c.day)
    buckets = fold(await source.run(by_day), filters, group, ("readings",))
    per_device = _reading_days(zones, filters, source)
    by_device = (
        select(
            D.id, D.name, func.coalesce(func.sum(per_device.c.n), 0), func.count(per_device.c.day)
        )
        .select_from(D)
        .outerjoin(per_device, per_device.c.device_id == D.id)
        .where(D.id.in_(_devices(filters, source)))
        .group_by(D.id, D.name)
    )
    days = (filters.end - filters.start + timedelta(days=1)).days
    listed = [
        Breakdown(
            kind="device",
            key=str(device_id),
            label=name,
            value=round(int(count) / days, 2),
            values={"readings": int(count), "days_with_readings": int(with_data), "days": days},
        )
        for device_id, name, count, with_data in await source.run(by_device)
    ]
    listed.sort(key=lambda b: (b.values["days_with_readings"], b.value or 0, b.label))
    return MetricResult(
        metric="iot_readings",
        unit="count",
        value=int(total(buckets, ("readings",))["readings"]),
        points=points(buckets, filters, group, lambda b: int(b["readings"])),
        rows=listed[:MAX_ROWS],
    )
