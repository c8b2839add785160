"""Rules of assets' maintenance plans: trigger fields, due dates and their preview."""

from __future__ import annotations

import math
import uuid
import zoneinfo
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets import recurrence
from kerops.assets.models import Asset, AssetMaintenancePlan
from kerops.assets.plans_schemas import (
    DATE_FIELDS,
    METER_FIELDS,
    DueOccurrence,
    MeterThreshold,
    PlanAnchor,
    PlanCreate,
    PlanPreview,
    PlanTrigger,
    PlanUpdate,
)
from kerops.assets.recurrence import IntervalUnit
from kerops.core import access
from kerops.core.enums import UserRole
from kerops.core.errors import Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.types import utcnow
from kerops.tenancy.models import Locale
from kerops.users.models import User

Plan = AssetMaintenancePlan

PLAN_SORTS = {
    "name": Plan.name,
    "next_due_at": Plan.next_due_at,
    "created_at": Plan.created_at,
}

#: Used when a locale's stored timezone is unknown to this system (it is validated on input).
FALLBACK_TIMEZONE = "UTC"


# --- helpers -------------------------------------------------------------------------------------


async def _asset(
    session: AsyncSession, principal: Principal, asset_id: uuid.UUID, action: access.Action
) -> Asset:
    """The asset of the plans: 404 if out of reach, 403 if the caller may only read it."""
    try:
        return await access.get_scoped(session, Asset, asset_id, principal, action)
    except NotFound:
        if action == "write" and await access.can(session, Asset, asset_id, principal, "read"):
            raise Forbidden(gettext("You may read this asset but not change its plans.")) from None
        raise


async def _plan(
    session: AsyncSession,
    principal: Principal,
    asset: Asset,
    plan_id: uuid.UUID,
    action: access.Action,
) -> Plan:
    plan = await access.get_scoped(session, Plan, plan_id, principal, action)
    if plan.asset_id != asset.id:
        raise NotFound(gettext("asset maintenance plan not found"))
    return plan


async def _zone(session: AsyncSession, locale_id: uuid.UUID) -> zoneinfo.ZoneInfo:
    """The timezone of the plan's own locale (already in reach through its asset)."""
    name = (
        await session.execute(select(Locale.timezone).where(Locale.id == locale_id))
    ).scalar_one_or_none()
    try:
        return zoneinfo.ZoneInfo(name or FALLBACK_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(FALLBACK_TIMEZONE)


def _field_errors(fields: Sequence[str], msg: str, type_: str, detail: str) -> Unprocessable:
    return Unprocessable(detail, errors=[field_error(("body", f), msg, type_) for f in fields])


def _refuse_other_trigger(trigger: PlanTrigger, given: dict[str, Any]) -> None:
    other = METER_FIELDS if trigger is PlanTrigger.date else DATE_FIELDS
    wrong = [f for f in other if f in given]
    if wrong:
        raise _field_errors(
            wrong,
            f"not allowed on a {trigger.value} plan",
            "field_not_allowed",
            f"A {trigger.value} plan does not take {', '.join(wrong)}.",
        )


def _require(trigger: PlanTrigger, values: dict[str, Any], fields: Sequence[str]) -> None:
    missing = [f for f in fields if values.get(f) is None]
    if missing:
        raise _field_errors(
            missing,
            f"required on a {trigger.value} plan",
            "missing",
            f"A {trigger.value} plan needs {', '.join(missing)}.",
        )


async def _check_assignee(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> None:
    user = await access.get_scoped(session, User, user_id, principal)
    if user.role is not UserRole.technician or not user.is_active:
        raise _field_errors(
            ["default_assignee_id"],
            "must be an active technician",
            "assignee_invalid",
            "The default assignee must be an active technician.",
        )


def current_reading(asset: Asset, meter_name: str) -> float | None:
    """The asset's last reading of a meter (a number, or ``{"value": number, ...}``), if any."""
    value = (asset.meter_readings or {}).get(meter_name)
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _series(plan: Plan, tz: zoneinfo.ZoneInfo) -> tuple[Any, int]:
    assert plan.start_date is not None
    if plan.anchor == PlanAnchor.completion.value:
        return recurrence.completion_series(
            start=plan.start_date, last_completed_at=plan.last_completed_at, tz=tz
        )
    return plan.start_date, 0


def due_occurrences(
    plan: Plan, tz: zoneinfo.ZoneInfo, *, after: datetime, limit: int
) -> list[recurrence.Occurrence]:
    """The next ``limit`` due dates of a date plan at or after ``after``."""
    if plan.trigger != PlanTrigger.date.value or plan.interval_unit is None:
        return []
    start, first = _series(plan, tz)
    return recurrence.next_occurrences(
        start=start,
        unit=IntervalUnit(plan.interval_unit),
        count=plan.interval_count or 1,
        tz=tz,
        after=after,
        limit=limit,
        lead_time_days=plan.lead_time_days,
        first_index=first,
    )


def _refresh_next_due(plan: Plan, tz: zoneinfo.ZoneInfo) -> None:
    found = due_occurrences(plan, tz, after=utcnow(), limit=1)
    plan.next_due_at = found[0].due_at if found else None


def _checklist(items: list[Any]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


# --- plans ---------------------------------------------------------------------------------------


async def create_plan(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, data: PlanCreate
) -> Plan:
    """Add a plan to an asset; a date plan gets its first due date at or after now."""
    asset = await _asset(session, principal, asset_id, "write")
    given = data.model_dump(exclude_unset=True)
    trigger = data.trigger
    _refuse_other_trigger(trigger, given)
    if data.default_assignee_id is not None:
        await _check_assignee(session, principal, data.default_assignee_id)
    plan = Plan(
        client_id=asset.client_id,
        locale_id=asset.locale_id,
        asset_id=asset.id,
        name=data.name,
        description=data.description,
        trigger=trigger.value,
        checklist_template=_checklist(data.checklist_template),
        default_priority=data.default_priority,
        required_skill=data.required_skill.value if data.required_skill else None,
        default_assignee_id=data.default_assignee_id,
        is_active=data.is_active,
    )
    tz = await _zone(session, asset.locale_id)
    if trigger is PlanTrigger.date:
        _require(trigger, given, ("interval_unit", "interval_count"))
        assert data.interval_unit is not None
        plan.interval_unit = data.interval_unit.value
        plan.interval_count = data.interval_count
        plan.anchor = (data.anchor or PlanAnchor.calendar).value
        plan.start_date = data.start_date or utcnow().astimezone(tz).date()
        plan.lead_time_days = data.lead_time_days or 0
        _refresh_next_due(plan, tz)
    else:
        _require(trigger, given, ("meter_name", "meter_interval"))
        assert data.meter_name is not None and data.meter_interval is not None
        plan.meter_name = data.meter_name
        plan.meter_interval = data.meter_interval
        if data.next_meter_due is not None:
            plan.next_meter_due = data.next_meter_due
        else:
            reading = current_reading(asset, data.meter_name)
            plan.next_meter_due = (reading or 0.0) + data.meter_interval
        plan.anchor = PlanAnchor.calendar.value
        plan.lead_time_days = 0
    session.add(plan)
    await session.flush()
    return plan


async def list_plans(
    session: AsyncSession,
    *,
    principal: Principal,
    asset_id: uuid.UUID,
    params: PageParams,
    trigger: PlanTrigger | None = None,
    is_active: bool | None = None,
    updated_since: datetime | None = None,
) -> tuple[Sequence[Plan], str | None]:
    """One page of an asset's plans; sorting by ``next_due_at`` lists the dated ones only."""
    asset = await _asset(session, principal, asset_id, "read")
    stmt = access.scoped(select(Plan), Plan, principal).where(Plan.asset_id == asset.id)
    if trigger is not None:
        stmt = stmt.where(Plan.trigger == trigger.value)
    if is_active is not None:
        stmt = stmt.where(Plan.is_active.is_(is_active))
    if updated_since is not None:
        stmt = stmt.where(Plan.updated_at >= updated_since)
    if (params.sort or "").lstrip("-") == "next_due_at":
        # Keyset cursors cannot step over NULLs: meter plans have no due date to sort by.
        stmt = stmt.where(Plan.next_due_at.is_not(None))
    return await paginate(
        session, stmt, params, sort_fields=PLAN_SORTS, id_column=Plan.id, default_sort="name"
    )


async def get_plan(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, plan_id: uuid.UUID
) -> Plan:
    """One plan of an asset."""
    asset = await _asset(session, principal, asset_id, "read")
    return await _plan(session, principal, asset, plan_id, "read")


async def update_plan(
    session: AsyncSession,
    *,
    principal: Principal,
    asset_id: uuid.UUID,
    plan_id: uuid.UUID,
    data: PlanUpdate,
) -> Plan:
    """Change a plan (not its trigger); a date plan's next due date is computed again."""
    asset = await _asset(session, principal, asset_id, "write")
    plan = await _plan(session, principal, asset, plan_id, "write")
    changes = data.model_dump(exclude_unset=True)
    trigger = PlanTrigger(plan.trigger)
    _refuse_other_trigger(trigger, changes)
    if changes.get("default_assignee_id") is not None:
        await _check_assignee(session, principal, changes["default_assignee_id"])
    if "checklist_template" in changes:
        assert data.checklist_template is not None
        changes["checklist_template"] = _checklist(data.checklist_template)
    for key in ("interval_unit", "anchor", "required_skill"):
        if changes.get(key) is not None:
            changes[key] = changes[key].value
    for key, value in changes.items():
        setattr(plan, key, value)
    if trigger is PlanTrigger.date:
        _refresh_next_due(plan, await _zone(session, plan.locale_id))
    await session.flush()
    await access.ensure_still_in_scope(session, plan, principal)
    return plan


async def delete_plan(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, plan_id: uuid.UUID
) -> None:
    """Delete a plan of an asset."""
    asset = await _asset(session, principal, asset_id, "write")
    plan = await _plan(session, principal, asset, plan_id, "write")
    await session.delete(plan)
    await session.flush()


async def preview_plan(
    session: AsyncSession,
    *,
    principal: Principal,
    asset_id: uuid.UUID,
    plan_id: uuid.UUID,
    count: int,
    after: datetime | None = None,
) -> PlanPreview:
    """The next ``count`` due dates (date plans) or meter thresholds (meter plans) of a plan."""
    asset = await _asset(session, principal, asset_id, "read")
    plan = await _plan(session, principal, asset, plan_id, "read")
    tz = await _zone(session, plan.locale_id)
    trigger = PlanTrigger(plan.trigger)
    occurrences: list[DueOccurrence] = []
    thresholds: list[MeterThreshold] = []
    if trigger is PlanTrigger.date:
        found = due_occurrences(plan, tz, after=after or utcnow(), limit=count)
        occurrences = [
            DueOccurrence(due_at=o.due_at, local_date=o.local_date, generate_at=o.generate_at)
            for o in found
        ]
    elif plan.next_meter_due is not None and plan.meter_interval:
        values = recurrence.meter_thresholds(
            next_due=plan.next_meter_due, interval=plan.meter_interval, limit=count
        )
        thresholds = [MeterThreshold(meter_value=v) for v in values]
    return PlanPreview(
        plan_id=plan.id,
        trigger=trigger,
        timezone=tz.key,
        meter_name=plan.meter_name,
        occurrences=occurrences,
        thresholds=thresholds,
    )
