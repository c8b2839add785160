"""Evaluating threshold rules: a trip opens one sensor ticket for the asset, or comments on it.

Evaluation is cheap for the common case: one query loads the enabled rules of the batch's devices
and nothing is written unless a rule changes state. A rule that changes state is locked
(``SELECT ... FOR UPDATE``; SQLite writers are serialised by ``BEGIN IMMEDIATE``) and judged again
on its fresh state, so two concurrent batches never open two tickets. A trip within the rule's
cooldown of its last acted trip does nothing but mark the rule tripped: a flapping sensor makes
one ticket and, after each cooldown, at most one comment on it while the ticket stays open.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core import formats
from kerops.core.enums import TicketPriority
from kerops.core.i18n import DEFAULT_LANGUAGE, gettext
from kerops.events import service as events
from kerops.iot import repository
from kerops.iot.models import IoTDevice, IoTRule
from kerops.operations.intake import raise_system_ticket
from kerops.operations.models import ServiceTicket, TicketComment
from kerops.operations.tickets import CLOSED_STATES
from kerops.users.clients import language_of_client

RULES = IoTRule.__table__
#: (device time, value) of readings, oldest first.
Series = list[tuple[datetime, float]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a batch of readings does to one rule."""

    tripped_at: datetime | None  # device time of the first reading that tripped it
    tripped_value: float | None
    final_state: str
    last_value: float | None


def _exceeds(rule: Any, value: float, rate: float | None) -> bool:
    kind = rule.kind
    if kind == "above":
        return bool(value > rule.threshold)
    if kind == "below":
        return bool(value < rule.threshold)
    if kind == "outside":
        return bool(value < rule.low or value > rule.high)
    if kind == "rate":
        return rate is not None and abs(rate) > rule.threshold
    return False


def _back_inside(rule: Any, value: float, rate: float | None) -> bool:
    margin = rule.hysteresis or 0.0
    kind = rule.kind
    if kind == "above":
        return bool(value <= rule.threshold - margin)
    if kind == "below":
        return bool(value >= rule.threshold + margin)
    if kind == "outside":
        return bool(rule.low + margin <= value <= rule.high - margin)
    if kind == "rate":
        return rate is not None and abs(rate) <= rule.threshold - margin
    return True  # no_data: any reading ends the silence


def judge(rule: Any, series: Series, previous: tuple[float, datetime] | None) -> Outcome:
    """Walk the readings of one rule's metric in time order from the rule's current state."""
    state = rule.state
    tripped_at: datetime | None = None
    tripped_value: float | None = None
    last = previous
    for at, value in series:
        rate = None
        if last is not None and at > last[1]:
            rate = (value - last[0]) / ((at - last[1]).total_seconds() / 60)
        last = (value, at)
        if state == "ok" and _exceeds(rule, value, rate):
            state = "tripped"
            if tripped_at is None:
                tripped_at, tripped_value = at, value
        elif state == "tripped" and _back_inside(rule, value, rate):
            state = "ok"
    return Outcome(tripped_at, tripped_value, state, series[-1][1] if series else None)


async def evaluate(
    session: AsyncSession,
    *,
    points: dict[tuple[uuid.UUID, str], Series],
    now: datetime,
) -> None:
    """Apply the new readings (by device and metric, oldest first) to the rules watching them."""
    if not points:
        return
    device_ids = {device_id for device_id, _ in points}
    stmt = select(*RULES.c).where(RULES.c.device_id.in_(device_ids), RULES.c.is_enabled)
    rules = [r for r in await session.execute(stmt) if (r.device_id, r.metric) in points]
    if not rules:
        return
    previous = await repository.previous_values(
        session,
        [
            (r.device_id, r.metric, points[(r.device_id, r.metric)][0][0])
            for r in rules
            if r.kind == "rate"
        ],
    )

    def changes(rule: Any) -> Outcome | None:
        outcome = judge(
            rule, points[(rule.device_id, rule.metric)], previous.get((rule.device_id, rule.metric))
        )
        if outcome.tripped_at is None and outcome.final_state == rule.state:
            return None
        return outcome

    moving = [r.id for r in rules if changes(r) is not None]
    if not moving:
        return
    for rule in await _lock(session, moving):
        outcome = changes(rule)
        if outcome is not None:
            await _apply(session, rule, outcome, now)


async def _lock(session: AsyncSession, rule_ids: Iterable[uuid.UUID]) -> Sequence[Row[Any]]:
    stmt = (
        select(*RULES.c)
        .where(RULES.c.id.in_(list(rule_ids)))
        .order_by(RULES.c.id)  # one lock order: concurrent batches cannot deadlock
        .with_for_update()
    )
    return (await session.execute(stmt)).all()


async def trip_silent(session: AsyncSession, *, rule_ids: list[uuid.UUID], now: datetime) -> int:
    """Trip the given ``no_data`` rules (still ``ok`` once locked); returns how many tripped."""
    tripped = 0
    for rule in await _lock(session, rule_ids):
        if rule.state != "ok" or not rule.is_enabled:
            continue
        await _apply(session, rule, Outcome(now, None, "tripped", rule.last_value), now)
        tripped += 1
    return tripped


async def _apply(session: AsyncSession, rule: Any, outcome: Outcome, now: datetime) -> None:
    values: dict[str, Any] = {"state": outcome.final_state, "updated_at": now}
    if outcome.last_value is not None:
        values["last_value"] = outcome.last_value
    if outcome.final_state == "ok" and rule.state == "tripped":
        values["last_cleared_at"] = now
    cooling = rule.last_tripped_at is not None and now - rule.last_tripped_at < timedelta(
        minutes=rule.cooldown_minutes
    )
    if outcome.tripped_at is not None and not cooling:
        ticket_id = await _raise_alert(session, rule, outcome, now)
        values.update(last_tripped_at=now, trip_count=rule.trip_count + 1, ticket_id=ticket_id)
    await session.execute(update(IoTRule).where(IoTRule.id == rule.id).values(**values))


def describe(
    *,
    kind: str,
    metric: str,
    unit: str,
    threshold: float | None,
    low: float | None,
    high: float | None,
    no_data_minutes: int | None,
    value: float | None,
    at: datetime | None,
    language: str,
    timezone: str | None = None,
) -> str:
    """What tripped a rule, in ``language`` (numbers and the reading's time in its format)."""

    def num(x: float | None) -> str:
        return formats.format_number(x, language) if x is not None else "?"

    if kind == "no_data":
        return gettext(
            "No {metric} reading for {minutes} minutes.",
            language,
            metric=metric,
            minutes=no_data_minutes if no_data_minutes is not None else "?",
        )
    if kind == "above":
        limits = gettext("above {limit} {unit}", language, limit=num(threshold), unit=unit)
    elif kind == "below":
        limits = gettext("below {limit} {unit}", language, limit=num(threshold), unit=unit)
    elif kind == "outside":
        limits = gettext(
            "outside {low} to {high} {unit}", language, low=num(low), high=num(high), unit=unit
        )
    else:
        limits = gettext(
            "changing faster than {limit} {unit}/min", language, limit=num(threshold), unit=unit
        )
    when = (
        formats.format_datetime(at, language, timezone=timezone)
        if at is not None
        else gettext("unknown time", language)
    )
    return gettext(
        "{metric} {limits}: {value} {unit} at {time} (device time).",
        language,
        metric=metric,
        limits=limits,
        value=num(value),
        unit=unit,
        time=when,
    )


def _describe(rule: Any, outcome: Outcome, unit: str, language: str) -> str:
    return describe(
        kind=rule.kind,
        metric=rule.metric,
        unit=unit,
        threshold=rule.threshold,
        low=rule.low,
        high=rule.high,
        no_data_minutes=rule.no_data_minutes,
        value=outcome.tripped_value,
        at=outcome.tripped_at,
        language=language,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def describe_payload(data: dict[str, Any], language: str, timezone: str | None = None) -> str:
    """What tripped a rule, from a ``sensor.alert`` payload, for one reader."""
    minutes = data.get("no_data_minutes")
    detail = describe(
        kind=str(data.get("kind") or ""),
        metric=str(data.get("metric") or ""),
        unit=str(data.get("unit") or ""),
        threshold=_number(data.get("threshold")),
        low=_number(data.get("low")),
        high=_number(data.get("high")),
        no_data_minutes=minutes if isinstance(minutes, int) else None,
        value=_number(data.get("value")),
        at=formats.parse_instant(data.get("tripped_at")),
        language=language,
        timezone=timezone,
    )
    device = str(data.get("device_name") or "")
    if not device:
        return detail
    return gettext("{device}: {detail}", language, device=device, detail=detail)


async def _raise_alert(
    session: AsyncSession, rule: Any, outcome: Outcome, now: datetime
) -> uuid.UUID:
    """Comment on the rule's open ticket, or open a new one; emit ``sensor.alert``."""
    row = (
        await session.execute(
            select(IoTDevice, Asset)
            .join(Asset, Asset.id == IoTDevice.asset_id)
            .where(IoTDevice.id == rule.device_id)
        )
    ).one()
    device, asset = row
    unit = (device.metrics or {}).get(rule.metric) or device.unit
    # Stored once on the client's ticket, so in the client's language.
    language = await language_of_client(session, device.client_id)
    text = _describe(rule, outcome, unit, language)
    ticket_id = await _open_ticket_of(session, rule.ticket_id)
    if ticket_id is not None:
        session.add(
            TicketComment(
                client_id=device.client_id,
                locale_id=asset.locale_id,
                ticket_id=ticket_id,
                author_id=None,
                body=gettext(
                    "Rule “{rule}” tripped again on {device}. {detail}",
                    language,
                    rule=rule.name,
                    device=device.name,
                    detail=text,
                ),
            )
        )
        await session.flush()
        opened = False
    else:
        ticket = await create_sensor_ticket(
            session,
            asset=asset,
            title=gettext("{rule} on {device}", language, rule=rule.name, device=device.name),
            description=gettext(
                "Raised by rule “{rule}” of device {device} ({serial}). {detail}",
                language,
                rule=rule.name,
                device=device.name,
                serial=device.serial_number,
                detail=text,
            ),
            priority=TicketPriority(rule.priority),
            language=language,
        )
        ticket_id, opened = ticket.id, True
    events.emit(
        session,
        "sensor.alert",
        client_id=device.client_id,
        subject_type="iot_rule",
        subject_id=rule.id,
        locale_id=asset.locale_id,
        payload={
            "rule_id": str(rule.id),
            "rule_name": rule.name,
            "device_id": str(device.id),
            "asset_id": str(asset.id),
            "metric": rule.metric,
            "device_name": device.name,
            "kind": rule.kind,
            "unit": unit,
            "threshold": rule.threshold,
            "low": rule.low,
            "high": rule.high,
            "no_data_minutes": rule.no_data_minutes,
            "value": outcome.tripped_value,
            "tripped_at": outcome.tripped_at.isoformat() if outcome.tripped_at else None,
            "ticket_id": str(ticket_id),
            "ticket_opened": opened,
            "detail": text,
        },
    )
    return ticket_id


async def _open_ticket_of(session: AsyncSession, ticket_id: uuid.UUID | None) -> uuid.UUID | None:
    if ticket_id is None:
        return None
    status = (
        await session.execute(select(ServiceTicket.status).where(ServiceTicket.id == ticket_id))
    ).scalar_one_or_none()
    if status is None or status in CLOSED_STATES:
        return None
    return ticket_id


async def create_sensor_ticket(
    session: AsyncSession,
    *,
    asset: Asset,
    title: str,
    description: str,
    priority: TicketPriority,
    language: str = DEFAULT_LANGUAGE,
) -> ServiceTicket:
    """Raise a ticket for the system from a sensor rule (no requester), like any other."""
    return await raise_system_ticket(
        session,
        asset=asset,
        source="sensor",
        title=title,
        description=description,
        priority=priority,
        history_comment=gettext("Raised by a sensor rule", language),
        created_event=False,  # the caller emits sensor.alert, which names the ticket
    )
