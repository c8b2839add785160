"""Plan limits: a create that would pass the client's plan limit is refused with a clear 4xx."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core.errors import PlanLimitExceeded
from kerops.iot.models import IoTDevice
from kerops.system.models import PlanLimit
from kerops.tenancy.models import Locale
from kerops.users.models import User

Resource = Literal["locales", "users", "assets", "iot_devices"]
Counter = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]

_COUNTERS: dict[str, Counter] = {}


def counter(resource: Resource) -> Callable[[Counter], Counter]:
    """Register how to count a client's current use of a limited resource."""

    def register(fn: Counter) -> Counter:
        _COUNTERS[resource] = fn
        return fn

    return register


@counter("locales")
async def _count_locales(session: AsyncSession, client_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(Locale).where(Locale.client_id == client_id)
    return int((await session.execute(stmt)).scalar_one())


@counter("users")
async def _count_users(session: AsyncSession, client_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(User).where(User.client_id == client_id)
    return int((await session.execute(stmt)).scalar_one())


@counter("assets")
async def _count_assets(session: AsyncSession, client_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(Asset).where(Asset.client_id == client_id)
    return int((await session.execute(stmt)).scalar_one())


@counter("iot_devices")
async def _count_iot_devices(session: AsyncSession, client_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(IoTDevice).where(IoTDevice.client_id == client_id)
    return int((await session.execute(stmt)).scalar_one())


async def enforce_plan_limit(
    session: AsyncSession, *, client_id: uuid.UUID, resource: Resource, adding: int = 1
) -> None:
    """Refuse (403 ``plan_limit_exceeded``) when ``adding`` more would pass the plan's limit.

    The client's owner row is locked first, so two concurrent creates cannot both squeeze under
    the limit on PostgreSQL (SQLite serialises writers anyway).
    """
    row = (
        await session.execute(
            select(User.plan, PlanLimit)
            .join(PlanLimit, PlanLimit.plan == User.plan, isouter=True)
            .where(User.id == client_id)
            .with_for_update(of=User)
        )
    ).first()
    if row is None or row[1] is None:
        return
    plan, limits = row
    maximum: int | None = getattr(limits, f"max_{resource}")
    if maximum is None:
        return
    used = await _COUNTERS[resource](session, client_id)
    if used + adding > maximum:
        label = resource.replace("_", " ")
        raise PlanLimitExceeded(
            f"The {plan.value} plan allows at most {maximum} {label}; "
            f"this client already has {used}. Upgrade the plan to add more.",
            limit=f"max_{resource}",
            maximum=maximum,
            current=used,
            plan=plan.value,
        )
