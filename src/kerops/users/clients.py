"""Clients: their rows (a new client, handing ownership over), which client a new client-wide
object belongs to, and what other modules set up for a new client (registered by them, so this
module imports none of them)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kerops.core.access import get_scoped
from kerops.core.enums import ClientRole, SubscriptionPlan, UserRole
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import DEFAULT_LANGUAGE, gettext, known_client_language, supported
from kerops.core.principal import Principal
from kerops.users.models import Client, User
from kerops.users.schemas import ClientUpdate

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


async def language_of_client(
    session: AsyncSession | AsyncConnection | None, client_id: uuid.UUID | None
) -> str:
    """The language a client's stored texts are written in (a generated ticket's title and
    description, a diagnosis): texts written once and read by all of the client's people, so in
    the client's default language (``clients.language``; es-CL without a client)."""
    if session is None or client_id is None:
        return DEFAULT_LANGUAGE
    known = known_client_language(client_id)
    if known is not None:
        return known
    if isinstance(session, AsyncSession):
        client = await session.get(Client, client_id)
        language = client.language if client is not None else None
    else:
        language = await session.scalar(select(Client.language).where(Client.id == client_id))
    return supported(language) or DEFAULT_LANGUAGE


def new_client(
    session: AsyncSession,
    owner_id: uuid.UUID,
    name: str,
    plan: SubscriptionPlan = SubscriptionPlan.free,
) -> Client:
    """Add the row of a new client owned by the user ``owner_id`` (to be added in the same
    transaction, with ``client_id`` = the returned client's id): the client's id is its first
    owner's user id."""
    client = Client(id=owner_id, owner_user_id=owner_id, name=name, plan=plan)
    session.add(client)
    return client


async def check_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> None:
    """404 unless ``client_id`` is the caller's client (no statement: a user's client exists) or,
    for staff, a client."""
    if principal.is_staff:
        await get_client(session, principal, client_id)
    elif client_id != principal.client_id:
        raise NotFound(gettext("client not found"))


async def get_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> Client:
    """A client the caller belongs to (any client for staff), or 404."""
    if not principal.is_staff and client_id != principal.client_id:
        raise NotFound(gettext("client not found"))
    client = await session.get(Client, client_id)
    if client is None:
        raise NotFound(gettext("client not found"))
    return client


async def client_for_new(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID | None, what: str
) -> uuid.UUID:
    """The client a new ``what`` (marked with ``N_``, translated in errors) belongs to: the
    owner's own, or the one platform staff name.

    Only a client's owner or admins and platform staff create client-wide objects; an id the
    caller cannot see answers 404, an id that is not a client's 422.
    """
    if not (principal.is_staff or principal.is_client_admin):
        raise Forbidden(
            gettext(
                "Only the client's owner or admins or platform staff can create {what}.",
                what=gettext(what),
            )
        )
    if client_id is None:
        if principal.is_staff:
            raise Unprocessable(
                gettext(
                    "Platform staff must say which client the {what} belong to.", what=gettext(what)
                ),
                errors=[field_error(("body", "client_id"), gettext("required for platform staff"))],
            )
        assert principal.client_id is not None
        return principal.client_id
    return await named_client(session, principal, client_id)


async def named_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> uuid.UUID:
    """The ``client_id`` a request body names, checked: 404 for an id the caller cannot see,
    422 for the id of someone who is not a client (a person's id, as before clients had rows
    of their own, when a client's id was its owner's)."""
    if await session.get(Client, client_id) is not None:
        if principal.is_staff or client_id == principal.client_id:
            return client_id
        raise NotFound(gettext("client not found"))
    await get_scoped(session, User, client_id, principal)  # 404 for an id nobody shows them
    raise Unprocessable(
        gettext("client_id must be the id of a client."),
        errors=[field_error(("body", "client_id"), gettext("not a client"))],
    )


async def update_client(
    session: AsyncSession, *, principal: Principal, client_id: uuid.UUID, changes: ClientUpdate
) -> Client:
    """Change a client's settings (its default language): its owner and admins, or staff."""
    client = await get_scoped(session, Client, client_id, principal, for_update=True)
    if not (principal.is_staff or principal.is_client_admin):
        raise Forbidden(
            gettext("Only the client's owner or admins or platform staff change the client.")
        )
    for key, value in changes.model_dump(exclude_unset=True).items():
        setattr(client, key, value)
    await session.flush()
    return client


async def transfer_ownership(
    session: AsyncSession, *, principal: Principal, client_id: uuid.UUID, user_id: uuid.UUID
) -> Client:
    """Hand the client over to one of its active admins: they become its owner, the owner
    becomes an admin. The client's row and the two users' roles change, nothing else (every
    ``client_id`` is the client's id, not its owner's). The owner's alone (and staff's)."""
    client = await get_scoped(session, Client, client_id, principal, for_update=True)
    if not (principal.is_staff or principal.user_id == client.owner_user_id):
        raise Forbidden(
            gettext("Only the client's owner can hand ownership over."), code="owner_only"
        )
    found = await session.execute(
        select(User).where(User.id == user_id, User.client_id == client.id).with_for_update()
    )
    new_owner = found.scalar_one_or_none()
    if new_owner is None:
        raise NotFound(gettext("user not found"))
    if new_owner.id == client.owner_user_id:
        raise Conflict(gettext("This user already owns the client."), code="already_owner")
    is_admin = (
        new_owner.role is UserRole.client_member and new_owner.client_role is ClientRole.admin
    )
    if not (is_admin and new_owner.is_active):
        problem = gettext("ownership goes to an active admin of the client (client_role admin)")
        raise Unprocessable(
            problem, errors=[field_error(("body", "user_id"), problem, "not_an_admin")]
        )
    old_owner = (
        await session.execute(select(User).where(User.id == client.owner_user_id).with_for_update())
    ).scalar_one()
    old_owner.role, old_owner.client_role = UserRole.client_member, ClientRole.admin
    new_owner.role, new_owner.client_role = UserRole.client_owner, None
    client.owner_user_id = new_owner.id
    await session.flush()
    return client
