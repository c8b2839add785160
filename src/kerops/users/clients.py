"""Clients: which client a new client-wide object belongs to, and what other modules set up for
a new client (registered by them, so this module imports none of them)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.access import get_scoped
from kerops.core.enums import UserRole
from kerops.core.errors import Forbidden, Unprocessable, field_error
from kerops.core.principal import Principal
from kerops.users.models import User

#: What a module sets up for a new client (e.g. operations: its default workflow).
NewClient = Callable[[AsyncSession, uuid.UUID], Awaitable[object]]
_ON_NEW_CLIENT: list[NewClient] = []


def on_new_client(fn: NewClient) -> NewClient:
    """Register ``await fn(session, client_id)``, run in the transaction creating a client."""
    if fn not in _ON_NEW_CLIENT:
        _ON_NEW_CLIENT.append(fn)
    return fn


async def set_up_new_client(session: AsyncSession, client_id: uuid.UUID) -> None:
    """Run what the modules set up for a new client, in the order they registered."""
    for fn in _ON_NEW_CLIENT:
        await fn(session, client_id)


async def client_for_new(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID | None, what: str
) -> uuid.UUID:
    """The client a new ``what`` belongs to: the owner's own, or the one platform staff name.

    Only a client's owner and platform staff create client-wide objects; an id the caller cannot
    see answers 404, an id that is not a client's owner account 422.
    """
    if not (principal.is_staff or principal.is_client_owner):
        raise Forbidden(f"Only the client's owner or platform staff can create {what}.")
    if client_id is None:
        if principal.is_staff:
            raise Unprocessable(
                f"Platform staff must say which client the {what} belong to.",
                errors=[field_error(("body", "client_id"), "required for platform staff")],
            )
        assert principal.client_id is not None
        return principal.client_id
    owner = await get_scoped(session, User, client_id, principal)
    if owner.role is not UserRole.client_owner or owner.client_id != owner.id:
        raise Unprocessable(
            "client_id must be the id of a client (its owner account).",
            errors=[field_error(("body", "client_id"), "not a client")],
        )
    return owner.id
