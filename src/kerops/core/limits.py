"""Plan limits: a create that would pass the client's plan limit is refused with a clear 4xx."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.errors import PlanLimitExceeded
from kerops.core.i18n import N_, gettext
from kerops.core.models import Base

Resource = Literal["locales", "users", "assets", "iot_devices"]
Counter = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]
#: The client's plan and its limit of a resource (``None``: unlimited), or ``None`` without a
#: plan; it locks the client's row, so two concurrent creates cannot both squeeze under
#: the limit on PostgreSQL (SQLite serialises writers anyway).
PlanOf = Callable[[AsyncSession, uuid.UUID, Resource], Awaitable[tuple[str, int | None] | None]]

_COUNTERS: dict[str, Counter] = {}
_PLAN_OF: list[PlanOf] = []


def counter(resource: Resource) -> Callable[[Counter], Counter]:
    """Register how to count a client's current use of a limited resource."""

    def register(fn: Counter) -> Counter:
        _COUNTERS[resource] = fn
        return fn

    return register


def plan_of(fn: PlanOf) -> PlanOf:
    """Register how to read a client's plan and its limits (the module owning plans does)."""
    _PLAN_OF[:] = [fn]
    return fn


def count_rows(model: type[Base], resource: Resource) -> None:
    """Register the counter of a resource that is the rows of ``model`` with the client's id."""
    column = model.__table__.c.client_id  # type: ignore[attr-defined]
    stmt = select(func.count()).select_from(model).where(column == bindparam("client_id"))

    async def count(session: AsyncSession, client_id: uuid.UUID) -> int:
        return int((await session.execute(stmt, {"client_id": client_id})).scalar_one())

    counter(resource)(count)


#: How a limited resource is named in the error of its limit.
_LABELS = {
    "assets": N_("assets"),
    "iot_devices": N_("IoT devices"),
    "locales": N_("locales"),
    "users": N_("users"),
}


async def enforce_plan_limit(
    session: AsyncSession, *, client_id: uuid.UUID, resource: Resource, adding: int = 1
) -> None:
    """Refuse (403 ``plan_limit_exceeded``) when ``adding`` more would pass the plan's limit.

    The client's row is locked first, so two concurrent creates cannot both squeeze under
    the limit on PostgreSQL (SQLite serialises writers anyway).
    """
    if not _PLAN_OF:
        raise RuntimeError("no module registered the clients' plans (kerops.core.limits.plan_of)")
    found = await _PLAN_OF[0](session, client_id, resource)
    if found is None:
        return
    plan, maximum = found
    if maximum is None:
        return
    used = await _COUNTERS[resource](session, client_id)
    if used + adding > maximum:
        label = gettext(_LABELS[resource]) if resource in _LABELS else resource.replace("_", " ")
        raise PlanLimitExceeded(
            gettext(
                "The {plan} plan allows at most {maximum} {label}; this client already has "
                "{used}. Upgrade the plan to add more.",
                plan=plan,
                maximum=maximum,
                label=label,
                used=used,
            ),
            limit=f"max_{resource}",
            maximum=maximum,
            current=used,
            plan=plan,
        )
