"""Who is calling, as seen from a ticket: the capacities (a workflow step's roles) in which a
principal acts on it."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ClientRole, LocalRole, UserRole
from kerops.core.principal import Principal
from kerops.operations.models import ServiceTicket
from kerops.operations.schemas import StepRole
from kerops.tenancy.models import LocalMember

#: The caller's roles in one locale: built once.
_LOCALE_ROLES = select(LocalMember.role).where(
    LocalMember.user_id == bindparam("user_id"), LocalMember.locale_id == bindparam("locale_id")
)


async def locale_roles(
    session: AsyncSession, principal: Principal, locale_id: uuid.UUID
) -> set[LocalRole]:
    """The caller's roles in one locale (none for anyone but a client's member)."""
    if principal.role is not UserRole.client_member:
        return set()
    params = {"user_id": principal.user_id, "locale_id": locale_id}
    return set((await session.execute(_LOCALE_ROLES, params)).scalars())


async def actor_kinds(
    session: AsyncSession, principal: Principal, ticket: ServiceTicket
) -> set[StepRole]:
    """Every capacity in which the principal acts on this ticket (a workflow step names them)."""
    kinds: set[StepRole] = set()
    if principal.is_staff:
        kinds.add(StepRole.staff)
    if principal.is_client_admin and principal.client_id == ticket.client_id:
        kinds.add(StepRole.owner)
    if principal.client_id == ticket.client_id:
        client_wide = (
            principal.role is UserRole.client_member and principal.client_role is ClientRole.manager
        )
        if client_wide or LocalRole.manager in await locale_roles(
            session, principal, ticket.locale_id
        ):
            kinds.add(StepRole.manager)
    if ticket.requester_id is not None and ticket.requester_id == principal.user_id:
        kinds.add(StepRole.requester)
    if ticket.technician_id is not None and ticket.technician_id == principal.user_id:
        kinds.add(StepRole.technician)
    if (
        principal.role is UserRole.vendor_admin
        and principal.vendor_id is not None
        and ticket.vendor_id == principal.vendor_id
    ):
        kinds.add(StepRole.vendor_admin)
    return kinds
