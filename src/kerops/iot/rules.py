"""Rules of IoT threshold rules: on a metric of a device, written by whoever manages the device."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.errors import NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.iot.models import IoTDevice, IoTRule
from kerops.iot.rules_schemas import RuleCreate, RuleKind, RuleUpdate, check_rule

RULE_SORTS = {"name": IoTRule.name, "created_at": IoTRule.created_at}


def _metrics_of(device: IoTDevice) -> set[str]:
    return {device.device_type, *(device.metrics or {})}


def _check_metric(device: IoTDevice, metric: str) -> None:
    if metric not in _metrics_of(device):
        known = ", ".join(sorted(_metrics_of(device)))
        raise Unprocessable(
            gettext(
                "The device does not send '{metric}' (it sends: {known}).",
                metric=metric,
                known=known,
            ),
            errors=[
                field_error(
                    ("body", "metric"), gettext("not a metric of the device"), "unknown_metric"
                )
            ],
        )


async def create_rule(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, data: RuleCreate
) -> IoTRule:
    """Add a rule to a device the caller manages."""
    device = await access.get_for_write(session, IoTDevice, device_id, principal)
    _check_metric(device, data.metric)
    rule = IoTRule(
        client_id=device.client_id,
        device_id=device.id,
        **data.model_dump(),
        state="ok",
        trip_count=0,
    )
    session.add(rule)
    await session.flush()
    return rule


async def list_rules(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[IoTRule], str | None]:
    """One page of a device's rules."""
    await access.get_scoped(session, IoTDevice, device_id, principal)
    stmt = access.scoped(select(IoTRule), IoTRule, principal).where(IoTRule.device_id == device_id)
    return await paginate(
        session, stmt, params, sort_fields=RULE_SORTS, id_column=IoTRule.id, default_sort="name"
    )


async def _rule_of(
    session: AsyncSession,
    principal: Principal,
    device_id: uuid.UUID,
    rule_id: uuid.UUID,
    *,
    write: bool = False,
) -> IoTRule:
    if write:
        rule = await access.get_for_write(session, IoTRule, rule_id, principal, for_update=True)
    else:
        rule = await access.get_scoped(session, IoTRule, rule_id, principal)
    if rule.device_id != device_id:
        raise NotFound(gettext("iot rule not found"))
    return rule


async def get_rule(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, rule_id: uuid.UUID
) -> IoTRule:
    """One rule of a device the caller can see."""
    return await _rule_of(session, principal, device_id, rule_id)


async def update_rule(
    session: AsyncSession,
    *,
    principal: Principal,
    device_id: uuid.UUID,
    rule_id: uuid.UUID,
    data: RuleUpdate,
) -> IoTRule:
    """Change a rule; its state stays (new limits apply to the next readings)."""
    rule = await _rule_of(session, principal, device_id, rule_id, write=True)
    changes = data.model_dump(exclude_unset=True)
    merged = {
        key: changes.get(key, getattr(rule, key))
        for key in ("kind", "threshold", "low", "high", "no_data_minutes")
    }
    problems = check_rule(
        RuleKind(merged["kind"]),
        merged["threshold"],
        merged["low"],
        merged["high"],
        merged["no_data_minutes"],
    )
    if problems:
        raise Unprocessable(
            gettext(
                "Invalid rule settings: {problems}",
                problems="; ".join(problem.translated() for _, problem in problems),
            ),
            errors=[
                field_error(("body", name), problem.translated()) for name, problem in problems
            ],
        )
    if "metric" in changes and changes["metric"] != rule.metric:
        device = await access.get_scoped(session, IoTDevice, device_id, principal)
        _check_metric(device, changes["metric"])
    for key, value in changes.items():
        setattr(rule, key, value)
    await session.flush()
    return rule


async def delete_rule(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, rule_id: uuid.UUID
) -> None:
    """Remove a rule (its tickets stay)."""
    rule = await _rule_of(session, principal, device_id, rule_id, write=True)
    await session.delete(rule)
    await session.flush()
