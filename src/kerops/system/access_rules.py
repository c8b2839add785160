"""What system plugs into core: the rules of its catalogue and settings, and the clients' plans
(the plan is the client's)."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access, limits
from kerops.core.access import Action
from kerops.core.principal import Principal
from kerops.system.models import AppVersion, PlanLimit, Setting
from kerops.users.models import Client


@access.rule(AppVersion, PlanLimit)
def _public_catalogue(p: Principal, action: Action) -> ColumnElement[bool]:
    return true() if action == "read" else false()


@access.rule(Setting)
def _platform_only(p: Principal, action: Action) -> ColumnElement[bool]:
    return false()


@limits.plan_of
async def _plan_of(
    session: AsyncSession, client_id: uuid.UUID, resource: limits.Resource
) -> tuple[str, int | None] | None:
    # The client's row is locked, so two concurrent creates cannot both squeeze under the
    # limit on PostgreSQL (SQLite serialises writers anyway).
    row = (
        await session.execute(
            select(Client.plan, PlanLimit)
            .join(PlanLimit, PlanLimit.plan == Client.plan, isouter=True)
            .where(Client.id == client_id)
            .with_for_update(of=Client)
        )
    ).first()
    if row is None or row[1] is None:
        return None
    plan, plan_limits = row
    maximum: int | None = getattr(plan_limits, f"max_{resource}")
    return plan.value, maximum
