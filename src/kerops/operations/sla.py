"""SLA policies: which response and resolution targets a client's tickets get.

A ticket takes the policy of its locale, else the client-wide policy, else the platform default
(``DEFAULT_TARGETS``). Deadlines are fixed when the ticket is raised (and recomputed when its
priority changes); editing a policy changes the deadlines of tickets raised afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.enums import TicketPriority
from kerops.core.errors import Conflict, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.operations.models import SlaPolicy
from kerops.operations.sla_schemas import SlaPolicyCreate, SlaPolicyUpdate
from kerops.tenancy.models import Locale

SLA_POLICY_SORTS = {"name": SlaPolicy.name, "created_at": SlaPolicy.created_at}

#: Platform default (response, resolution) minutes per priority, for clients without a policy.
DEFAULT_TARGETS: dict[TicketPriority, tuple[int, int]] = {
    TicketPriority.critical: (60, 4 * 60),
    TicketPriority.high: (4 * 60, 24 * 60),
    TicketPriority.medium: (8 * 60, 72 * 60),
    TicketPriority.low: (24 * 60, 168 * 60),
}

_DUPLICATE = "This client already has a policy for that scope (client-wide, or that locale)."


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The SLA deadlines of a ticket and the policy they came from (None: platform default)."""

    policy_id: uuid.UUID | None
    response_due_at: datetime
    resolution_due_at: datetime


async def policy_for(
    session: AsyncSession, client_id: uuid.UUID, locale_id: uuid.UUID
) -> SlaPolicy | None:
    """The policy a ticket of this locale follows: the locale's own, else the client-wide one."""
    stmt = (
        select(SlaPolicy)
        .where(
            SlaPolicy.client_id == client_id,
            or_(SlaPolicy.locale_id == locale_id, SlaPolicy.locale_id.is_(None)),
        )
        # The locale's own policy first (NULL locale ids sort last on both databases this way).
        .order_by(SlaPolicy.locale_id.is_(None))
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def deadlines_from(
    policy: SlaPolicy | None, priority: TicketPriority, start: datetime
) -> Deadlines:
    """Deadlines of a ticket of ``priority`` raised at ``start`` under ``policy``."""
    if policy is None:
        response, resolution = DEFAULT_TARGETS[priority]
        return Deadlines(
            None, start + timedelta(minutes=response), start + timedelta(minutes=resolution)
        )
    target = policy.targets[priority.value]
    return Deadlines(
        policy.id,
        start + timedelta(minutes=int(target["response_minutes"])),
        start + timedelta(minutes=int(target["resolution_minutes"])),
    )


async def deadlines(
    session: AsyncSession,
    client_id: uuid.UUID,
    locale_id: uuid.UUID,
    priority: TicketPriority,
    start: datetime,
) -> Deadlines:
    """Deadlines of a ticket of this client's locale, raised at ``start``."""
    return deadlines_from(await policy_for(session, client_id, locale_id), priority, start)


# --- policies ------------------------------------------------------------------------------------


def _targets_json(data: SlaPolicyCreate | SlaPolicyUpdate) -> dict[str, dict[str, int]]:
    assert data.targets is not None
    return {priority.value: target.model_dump() for priority, target in data.targets.items()}


async def _ensure_scope_free(
    session: AsyncSession, client_id: uuid.UUID, locale_id: uuid.UUID | None
) -> None:
    stmt = select(SlaPolicy.id).where(SlaPolicy.client_id == client_id)
    stmt = stmt.where(
        SlaPolicy.locale_id.is_(None) if locale_id is None else SlaPolicy.locale_id == locale_id
    )
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(_DUPLICATE, code="sla_policy_exists")


async def create_policy(
    session: AsyncSession, *, principal: Principal, data: SlaPolicyCreate
) -> SlaPolicy:
    """Create the client-wide policy or one locale's policy (one of each per scope)."""
    client_id = await access.client_for_new(session, principal, data.client_id, "SLA policies")
    if data.locale_id is not None:
        locale = await access.get_scoped(session, Locale, data.locale_id, principal)
        if locale.client_id != client_id:
            raise Unprocessable(
                "The locale must belong to the policy's client.",
                errors=[field_error(("body", "locale_id"), "locale of another client")],
            )
    await _ensure_scope_free(session, client_id, data.locale_id)
    policy = SlaPolicy(
        client_id=client_id,
        locale_id=data.locale_id,
        name=data.name,
        targets=_targets_json(data),
        warning_percent=data.warning_percent,
    )
    session.add(policy)
    await flush_or_conflict(session, _DUPLICATE)
    return policy


async def list_policies(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    q: str | None = None,
    locale_id: uuid.UUID | None = None,
    client_wide: bool | None = None,
) -> tuple[Sequence[SlaPolicy], str | None]:
    """One page of the SLA policies the caller can see."""
    stmt = access.scoped(select(SlaPolicy), SlaPolicy, principal)
    if q:
        stmt = stmt.where(text_search(q, SlaPolicy.name))
    if locale_id is not None:
        stmt = stmt.where(SlaPolicy.locale_id == locale_id)
    if client_wide is not None:
        stmt = stmt.where(
            SlaPolicy.locale_id.is_(None) if client_wide else SlaPolicy.locale_id.is_not(None)
        )
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=SLA_POLICY_SORTS,
        id_column=SlaPolicy.id,
        default_sort="name",
    )


async def get_policy(
    session: AsyncSession, *, principal: Principal, policy_id: uuid.UUID
) -> SlaPolicy:
    """One SLA policy the caller can see."""
    return await access.get_scoped(session, SlaPolicy, policy_id, principal)


async def update_policy(
    session: AsyncSession, *, principal: Principal, policy_id: uuid.UUID, data: SlaPolicyUpdate
) -> SlaPolicy:
    """Change a policy's name, targets or warning share (its scope is fixed)."""
    policy = await access.get_for_write(session, SlaPolicy, policy_id, principal, for_update=True)
    changes = data.model_dump(exclude_unset=True, exclude={"targets"})
    for key, value in changes.items():
        setattr(policy, key, value)
    if data.targets is not None:
        policy.targets = _targets_json(data)
    await session.flush()
    return policy


async def delete_policy(
    session: AsyncSession, *, principal: Principal, policy_id: uuid.UUID
) -> None:
    """Delete a policy; tickets keep their deadlines, new ones fall back to the next scope."""
    policy = await access.get_for_write(session, SlaPolicy, policy_id, principal, for_update=True)
    await session.delete(policy)
    await session.flush()
