"""Users: lists, profiles and roles, activation, and invitations by email."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kerops.core.access import get_for_write, get_scoped
from kerops.core.db import flush_or_conflict
from kerops.core.enums import ClientRole, LocalRole, UserRole
from kerops.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    field_error,
)
from kerops.core.filtering import text_search
from kerops.core.i18n import gettext
from kerops.core.limits import enforce_plan_limit
from kerops.core.mail import OutgoingMessage
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.state import AppState
from kerops.core.types import uuid7
from kerops.users import clients
from kerops.users.models import User, Vendor
from kerops.users.schemas import UserInvite, UserUpdate

#: An invitation's one-time link (auth: a sign-in code), registered by it (``invitation_link``).
InvitationLink = Callable[[AsyncSession, AppState, User], OutgoingMessage]
_INVITATION_LINK: list[InvitationLink] = []
#: What another module does when a user is deactivated (auth: their sign-in sessions end).
Deactivated = Callable[[AsyncSession, uuid.UUID], Awaitable[object]]
_ON_DEACTIVATED: list[Deactivated] = []


def invitation_link(fn: InvitationLink) -> InvitationLink:
    """Register how an invitation's one-time link is made (by auth, which owns sign-in codes):
    ``fn(session, state, user)`` adds the link's code to the session and returns the email
    that carries the link."""
    _INVITATION_LINK[:] = [fn]
    return fn


def _invitation_link(session: AsyncSession, state: AppState, user: User) -> OutgoingMessage:
    if not _INVITATION_LINK:
        raise RuntimeError("no module registered the invitation link (kerops.users.service)")
    return _INVITATION_LINK[0](session, state, user)


def on_deactivated(fn: Deactivated) -> Deactivated:
    """Register ``await fn(session, user_id)``, run in the transaction deactivating a user."""
    if fn not in _ON_DEACTIVATED:
        _ON_DEACTIVATED.append(fn)
    return fn


class InvitedLocale(Protocol):
    """The locale an invitation names, as far as this module reads it."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def client_id(self) -> uuid.UUID: ...


#: How an invitation makes the person a member of a locale (``locale_id``, ``local_role``):
#: registered by tenancy, which owns locales, so this module imports none of it.
FindLocale = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[InvitedLocale]]
AddMember = Callable[[AsyncSession, InvitedLocale, uuid.UUID, LocalRole], None]
_LOCALES: dict[str, Any] = {}


def invite_into_locales(*, find: FindLocale, add_member: AddMember) -> None:
    """Register how an invitation finds the locale it names (one the caller may change, else
    404) and adds the invited person to its members."""
    _LOCALES["find"] = find
    _LOCALES["add_member"] = add_member


def _locales(name: str) -> Any:
    if name not in _LOCALES:
        raise RuntimeError("no module registered the locales of invitations (kerops.users.service)")
    return _LOCALES[name]


def normalise_email(email: str) -> str:
    """Emails are compared and stored lower-cased."""
    return email.strip().lower()


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this email, if any."""
    return (
        await session.execute(select(User).where(func.lower(User.email) == normalise_email(email)))
    ).scalar_one_or_none()


USER_SORT_FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "created_at": User.created_at,
    "email": User.email,
    "full_name": User.full_name,
}

#: Roles each kind of manager may hand out (and take away); staff may set any role but the
#: owner's (a client has one owner; ownership is handed over, ``transfer_ownership``).
CLIENT_OWNER_ROLES = frozenset({UserRole.client_member, UserRole.technician})
VENDOR_ADMIN_ROLES = frozenset({UserRole.technician, UserRole.vendor_admin})
CLIENT_ROLES = frozenset({UserRole.client_owner, UserRole.client_member})


def _names(roles: frozenset[UserRole]) -> str:
    return ", ".join(sorted(r.value for r in roles))


def filter_users(
    stmt: Select[tuple[User]],
    *,
    role: UserRole | None = None,
    is_active: bool | None = None,
    vendor_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    q: str | None = None,
) -> Select[tuple[User]]:
    """Apply the list filters of users to a (scoped) query."""
    if role is not None:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if vendor_id is not None:
        stmt = stmt.where(User.vendor_id == vendor_id)
    if client_id is not None:
        stmt = stmt.where(User.client_id == client_id)
    if q:
        stmt = stmt.where(text_search(q, User.email, User.full_name))
    return stmt


async def list_users(
    reader: Reader,
    *,
    params: PageParams,
    role: UserRole | None = None,
    is_active: bool | None = None,
    vendor_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the users the caller may see."""
    stmt = filter_users(
        reader.rows(User),
        role=role,
        is_active=is_active,
        vendor_id=vendor_id,
        client_id=client_id,
        q=q,
    )
    return await reader.page(
        stmt,
        params,
        sort_fields=USER_SORT_FIELDS,
        id_column=User.id,
        default_sort="created_at",
    )


def _check_role_fits(user: User, role: UserRole) -> None:
    """A role must match the user's affiliation (a client's roles need a client, etc.)."""
    if role in CLIENT_ROLES and user.client_id is None:
        problem = gettext("the role {role} needs a user of a client", role=role.value)
    elif role is UserRole.vendor_admin and user.vendor_id is None:
        problem = gettext("the role vendor_admin needs a user of a vendor")
    else:
        return
    raise Unprocessable(problem, errors=[field_error(("body", "role"), problem)])


def _check_role_change(principal: Principal, user: User, role: UserRole) -> None:
    """Refuse a role change the caller may not make (own role, higher roles, misfits)."""
    if user.id == principal.user_id:
        raise Forbidden(gettext("You cannot change your own role."), code="own_role_change")
    if user.role is UserRole.client_owner:
        raise Conflict(
            gettext(
                "The owner of a client keeps the client_owner role until they hand ownership "
                "over to an admin."
            ),
            code="account_owner_role",
        )
    if principal.is_staff:
        if role is UserRole.client_owner:
            problem = gettext(
                "a client has one owner: ownership is handed over (transfer-ownership)"
            )
            raise Unprocessable(
                problem, errors=[field_error(("body", "role"), problem, "owner_by_transfer")]
            )
        _check_role_fits(user, role)
        return
    if principal.is_client_admin:
        allowed = CLIENT_OWNER_ROLES
    elif principal.role is UserRole.vendor_admin:
        allowed = VENDOR_ADMIN_ROLES
    else:
        raise Forbidden(gettext("You may not change roles."), code="role_not_allowed")
    if role not in allowed or user.role not in allowed:
        raise Forbidden(
            gettext("You may only move people between the roles {roles}.", roles=_names(allowed)),
            code="role_not_allowed",
        )


async def _ensure_phone_free(session: AsyncSession, phone: str, user_id: uuid.UUID) -> None:
    taken = await session.execute(select(User.id).where(User.phone == phone, User.id != user_id))
    if taken.first() is not None:
        raise Conflict(
            gettext("Another account already uses this phone number."), code="phone_taken"
        )


def _check_client_role_change(
    principal: Principal, user: User, client_role: ClientRole | None
) -> None:
    """Refuse a client-wide role the caller may not grant or revoke: the owner, an admin and
    staff grant them to the client's members, never to or from themselves or the owner."""
    if not (principal.is_staff or principal.is_client_admin):
        raise Forbidden(
            gettext("Only the client's owner or admins grant client-wide roles."),
            code="role_not_allowed",
        )
    if user.id == principal.user_id:
        raise Forbidden(gettext("You cannot change your own role."), code="own_role_change")
    if user.role is UserRole.client_owner:
        raise Conflict(
            gettext("The owner of a client holds every right and takes no client-wide role."),
            code="account_owner_role",
        )
    if client_role is not None and (user.role is not UserRole.client_member or not user.is_active):
        problem = gettext(
            "client-wide roles are for the client's active members (role client_member)"
        )
        raise Unprocessable(
            problem, errors=[field_error(("body", "client_role"), problem, "client_role_invalid")]
        )


async def update_user(
    session: AsyncSession, *, principal: Principal, user_id: uuid.UUID, changes: UserUpdate
) -> User:
    """Change profile fields and, for managers, the role of a user in their reach (and, for a
    client's owner and admins, a member's client-wide role)."""
    user = await get_for_write(session, User, user_id, principal)
    if user.role is UserRole.client_owner and not (
        principal.is_staff or principal.user_id == user.id
    ):
        raise Forbidden(
            gettext("The client's owner edits their own account."), code="owner_account"
        )
    values = changes.model_dump(exclude_unset=True)
    role = values.pop("role", None)
    if role is not None and role != user.role:
        _check_role_change(principal, user, role)
        user.role = role
        if role is not UserRole.client_member:
            user.client_role = None  # client-wide roles are a member's
    if "client_role" in values:
        client_role = values.pop("client_role")
        if client_role != user.client_role:
            _check_client_role_change(principal, user, client_role)
            user.client_role = client_role
    phone = values.get("phone")
    if phone is not None and phone != user.phone:
        await _ensure_phone_free(session, phone, user.id)
    for key, value in values.items():
        setattr(user, key, value)
    await flush_or_conflict(
        session, gettext("Another account already uses this phone number."), code="phone_taken"
    )
    return user


async def set_active(
    session: AsyncSession, *, principal: Principal, user_id: uuid.UUID, active: bool
) -> User:
    """Activate or deactivate a user; deactivation ends every login session of theirs."""
    user = await get_scoped(session, User, user_id, principal, "write", for_update=True)
    if user.id == principal.user_id:
        if not active:
            raise Forbidden(
                gettext("You cannot deactivate your own account."), code="self_deactivation"
            )
        return user
    if user.role is UserRole.client_owner and not principal.is_staff:
        raise Forbidden(gettext("Only platform staff can (de)activate a client's account owner."))
    user.is_active = active
    if not active:
        for deactivated in _ON_DEACTIVATED:  # auth: their sign-in sessions end
            await deactivated(session, user.id)
    await session.flush()
    return user


async def _invite_target(
    session: AsyncSession, *, principal: Principal, invite: UserInvite
) -> tuple[uuid.UUID | None, Vendor | None, frozenset[UserRole] | None]:
    """The client or vendor the invitation is into, and the roles the caller may give there.

    ``None`` for the roles means any role (staff).
    """
    if invite.client_id is not None and invite.vendor_id is not None:
        problem = gettext("give either client_id or vendor_id, not both")
        raise Unprocessable(problem, errors=[field_error(("body", "vendor_id"), problem)])
    vendor: Vendor | None = None
    if invite.vendor_id is not None:
        vendor = await get_scoped(
            session, Vendor, invite.vendor_id, principal, "write", for_update=True
        )
    elif principal.role is UserRole.vendor_admin:
        if principal.vendor_id is None or invite.client_id is not None:
            raise NotFound(gettext("client not found"))
        vendor = await get_scoped(
            session, Vendor, principal.vendor_id, principal, "write", for_update=True
        )
    if vendor is not None:
        if not vendor.is_active:
            raise Conflict(gettext("This vendor is inactive."), code="vendor_inactive")
        return None, vendor, None if principal.is_staff else VENDOR_ADMIN_ROLES
    client_id = invite.client_id
    if client_id is None and not principal.is_staff:
        client_id = principal.client_id
    if client_id is not None:
        await clients.check_client(session, principal, client_id)
    return client_id, None, None if principal.is_staff else CLIENT_OWNER_ROLES


def _check_invite_role(role: UserRole, client_id: uuid.UUID | None, vendor: Vendor | None) -> None:
    """The invited role must fit where the person goes (a vendor, a client, or the platform)."""
    if vendor is not None:
        allowed = VENDOR_ADMIN_ROLES
    elif client_id is not None:
        allowed = frozenset({UserRole.client_member, UserRole.technician})
    else:
        # No client and no vendor: platform staff, KER's own technicians, or a new client.
        allowed = frozenset({UserRole.super_admin, UserRole.technician, UserRole.client_owner})
    if role not in allowed:
        problem = gettext("into this place the role must be one of {roles}", roles=_names(allowed))
        raise Unprocessable(problem, errors=[field_error(("body", "role"), problem)])


async def invite_user(
    session: AsyncSession, state: AppState, *, principal: Principal, invite: UserInvite
) -> tuple[User, OutgoingMessage]:
    """Create a user without a password, and the email with a one-time link to set one."""
    if not (
        principal.is_staff or principal.is_client_admin or principal.role is UserRole.vendor_admin
    ):
        raise Forbidden(
            gettext("Only client owners and admins, vendor admins and staff can invite people.")
        )
    locale: InvitedLocale | None = None
    if invite.locale_id is not None:
        find: FindLocale = _locales("find")
        locale = await find(session, principal, invite.locale_id)
    elif invite.local_role is not None:
        problem = gettext("local_role needs a locale_id")
        raise Unprocessable(problem, errors=[field_error(("body", "local_role"), problem)])

    client_id, vendor, allowed = await _invite_target(session, principal=principal, invite=invite)
    if allowed is not None and invite.role not in allowed:
        raise Forbidden(
            gettext("You may only invite people with the roles {roles}.", roles=_names(allowed)),
            code="role_not_allowed",
        )
    _check_invite_role(invite.role, client_id, vendor)
    if invite.client_role is not None and invite.role is not UserRole.client_member:
        problem = gettext("client-wide roles are for the client's members (role client_member)")
        raise Unprocessable(
            problem, errors=[field_error(("body", "client_role"), problem, "client_role_invalid")]
        )
    if locale is not None and locale.client_id != client_id:
        problem = gettext("the locale must belong to the client the person joins")
        raise Unprocessable(problem, errors=[field_error(("body", "locale_id"), problem)])

    email = normalise_email(invite.email)
    if await find_user_by_email(session, email) is not None:
        raise Conflict(gettext("An account with this email already exists."), code="email_taken")
    if client_id is not None:
        await enforce_plan_limit(session, client_id=client_id, resource="users")

    user_id = uuid7()
    if invite.role is UserRole.client_owner and client_id is None:
        # Staff opening a new client account: the client's row first, its owner points at it.
        client_id = clients.new_client(session, user_id, invite.full_name).id
        await session.flush()
    user = User(
        id=user_id,
        email=email,
        full_name=invite.full_name,
        password_hash=None,
        role=invite.role,
        client_id=client_id,
        client_role=invite.client_role,
        vendor_id=vendor.id if vendor is not None else None,
        invited_by_id=principal.user_id,
        # No language of their own until they choose one: their browser's, else their client's.
        language=None,
    )
    session.add(user)
    await flush_or_conflict(
        session, gettext("An account with this email already exists."), code="email_taken"
    )
    if locale is not None:
        add_member: AddMember = _locales("add_member")
        add_member(session, locale, user.id, invite.local_role or LocalRole.viewer)
    message = _invitation_link(session, state, user)
    await session.flush()
    return user, message
