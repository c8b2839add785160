"""Maintenance plans of an asset and the preview of their due dates."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from kerops.assets import plans as service
from kerops.assets.models import AssetMaintenancePlan
from kerops.assets.plans_schemas import (
    PlanCreate,
    PlanPreview,
    PlanRead,
    PlanTrigger,
    PlanUpdate,
)
from kerops.core.deps import PrincipalDep, SessionDep
from kerops.core.filtering import UpdatedSince
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.schemas import ApiDateTime

router = APIRouter(tags=["maintenance plans"])

PlanPage = Annotated[PageParams, sorted_by(service.PLAN_SORTS)]

PLANS = "/assets/{asset_id}/maintenance-plans"
PLAN = PLANS + "/{plan_id}"
MAX_PREVIEW = 100


@router.post(PLANS, response_model=PlanRead, status_code=status.HTTP_201_CREATED)
async def create_plan(
    asset_id: uuid.UUID, body: PlanCreate, principal: PrincipalDep, session: SessionDep
) -> AssetMaintenancePlan:
    """Add a date or meter plan to an asset (the asset's owner, staff or a locale manager)."""
    return await service.create_plan(session, principal=principal, asset_id=asset_id, data=body)


@router.get(PLANS, response_model=Page[PlanRead])
async def list_plans(
    asset_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    page: PlanPage,
    trigger: PlanTrigger | None = None,
    is_active: bool | None = None,
    updated_since: UpdatedSince = None,
) -> dict[str, object]:
    """An asset's plans (sort: name, next_due_at, created_at; next_due_at lists date plans)."""
    items, cursor = await service.list_plans(
        session,
        principal=principal,
        asset_id=asset_id,
        params=page,
        trigger=trigger,
        is_active=is_active,
        updated_since=updated_since,
    )
    return {"items": items, "next_cursor": cursor}


@router.get(PLAN, response_model=PlanRead)
async def get_plan(
    asset_id: uuid.UUID, plan_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> AssetMaintenancePlan:
    """One plan of an asset."""
    return await service.get_plan(session, principal=principal, asset_id=asset_id, plan_id=plan_id)


@router.patch(PLAN, response_model=PlanRead)
async def update_plan(
    asset_id: uuid.UUID,
    plan_id: uuid.UUID,
    body: PlanUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> AssetMaintenancePlan:
    """Change a plan (fields of its own trigger only); the next due date is computed again."""
    return await service.update_plan(
        session, principal=principal, asset_id=asset_id, plan_id=plan_id, data=body
    )


@router.delete(PLAN, status_code=status.HTTP_204_NO_CONTENT)
async def delete_plan(
    asset_id: uuid.UUID, plan_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete a plan of an asset."""
    await service.delete_plan(session, principal=principal, asset_id=asset_id, plan_id=plan_id)


@router.get(PLAN + "/preview", response_model=PlanPreview)
async def preview_plan(
    asset_id: uuid.UUID,
    plan_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    count: Annotated[int, Query(ge=1, le=MAX_PREVIEW, description="How many to list")] = 10,
    after: Annotated[
        ApiDateTime | None, Query(description="List from this instant on (default: now)")
    ] = None,
) -> PlanPreview:
    """The next due dates (UTC, local date, generation time) or meter thresholds of a plan."""
    return await service.preview_plan(
        session,
        principal=principal,
        asset_id=asset_id,
        plan_id=plan_id,
        count=count,
        after=after,
    )
