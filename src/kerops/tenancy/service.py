"""Rules of locales, their area trees and their members."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.enums import LocalRole, UserRole
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.i18n import N_, gettext
from kerops.core.limits import enforce_plan_limit
from kerops.core.models import Base
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.tenancy import repository
from kerops.tenancy.models import LocalArea, Locale, LocalMember
from kerops.tenancy.schemas import (
    AreaCreate,
    AreaKind,
    AreaUpdate,
    LocaleCreate,
    LocaleUpdate,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    MemberUser,
)
from kerops.users import clients
from kerops.users.models import User

M = TypeVar("M", bound=Base)

LOCALE_SORTS = {"name": Locale.name, "created_at": Locale.created_at}
AREA_SORTS = {"name": LocalArea.name, "created_at": LocalArea.created_at}
MEMBER_SORTS = {"created_at": LocalMember.created_at, "role": LocalMember.role}


# --- helpers -------------------------------------------------------------------------------------


# --- locales -------------------------------------------------------------------------------------


async def _ensure_code_free(
    session: AsyncSession,
    client_id: uuid.UUID,
    code: str | None,
    *,
    exclude_id: uuid.UUID | None = None,
) -> None:
    if code is None:
        return
    stmt = select(Locale.id).where(Locale.client_id == client_id, Locale.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Locale.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(
            gettext("This client already has a locale with code '{code}'.", code=code),
            code="code_taken",
        )


async def create_locale(
    session: AsyncSession, *, principal: Principal, data: LocaleCreate
) -> Locale:
    """Create a locale of the caller's client (staff: of the client named), within the plan."""
    client_id = await clients.client_for_new(session, principal, data.client_id, N_("locales"))
    await enforce_plan_limit(session, client_id=client_id, resource="locales")
    await _ensure_code_free(session, client_id, data.code)
    values = await customfields.values_for_write(
        session,
        client_id=client_id,
        entity=FieldEntity.locale,
        given=data.custom_fields,
        creating=True,
    )
    locale = Locale(
        client_id=client_id,
        **data.model_dump(exclude={"client_id", "custom_fields"}),
        custom_fields=values,
    )
    session.add(locale)
    await flush_or_conflict(
        session, gettext("This client already has a locale with that code."), code="code_taken"
    )
    return locale


async def list_locales(
    reader: Reader,
    *,
    params: PageParams,
    q: str | None = None,
    city: str | None = None,
    region: str | None = None,
    is_active: bool | None = None,
    fields: list[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the locales the caller can see."""
    stmt = reader.rows(Locale)
    stmt = await customfields.filter_rows(reader, stmt, entity=FieldEntity.locale, filters=fields)
    if q:
        stmt = stmt.where(text_search(q, Locale.name, Locale.code, Locale.city))
    if city is not None:
        stmt = stmt.where(func.lower(Locale.city) == city.lower())
    if region is not None:
        stmt = stmt.where(func.lower(Locale.region) == region.lower())
    if is_active is not None:
        stmt = stmt.where(Locale.is_active.is_(is_active))
    return await reader.page(
        stmt, params, sort_fields=LOCALE_SORTS, id_column=Locale.id, default_sort="name"
    )


async def update_locale(
    session: AsyncSession, *, principal: Principal, locale_id: uuid.UUID, data: LocaleUpdate
) -> Locale:
    """Change a locale (its owner, staff or one of its managers)."""
    locale = await access.get_for_write(session, Locale, locale_id, principal)
    changes = data.model_dump(exclude_unset=True)
    if "code" in changes and changes["code"] != locale.code:
        await _ensure_code_free(session, locale.client_id, changes["code"], exclude_id=locale.id)
    if "custom_fields" in changes:
        changes["custom_fields"] = await customfields.values_for_write(
            session,
            client_id=locale.client_id,
            entity=FieldEntity.locale,
            given=data.custom_fields,
            current=locale.custom_fields,
            creating=False,
        )
    for key, value in changes.items():
        setattr(locale, key, value)
    await flush_or_conflict(
        session, gettext("This client already has a locale with that code."), code="code_taken"
    )
    await access.ensure_still_in_scope(session, locale, principal)
    return locale


#: Whether rows of another module keep a locale (an EXISTS over its id), registered by that
#: module (inventory: storerooms), so this module imports none of them.
LocaleUse = Callable[[uuid.UUID], ColumnElement[bool]]
_LOCALE_USES: list[LocaleUse] = []


def locale_used_by(fn: LocaleUse) -> LocaleUse:
    """Register a use of locales that keeps one from being deleted."""
    if fn not in _LOCALE_USES:
        _LOCALE_USES.append(fn)
    return fn


async def delete_locale(
    session: AsyncSession, *, principal: Principal, locale_id: uuid.UUID
) -> None:
    """Delete an empty locale (owner or staff); one with areas or members is deactivated instead."""
    locale = await access.get_for_write(session, Locale, locale_id, principal, for_update=True)
    if not (principal.is_staff or principal.is_client_admin):
        raise Forbidden(gettext("Only the client's owner or platform staff can delete a locale."))
    has_areas = exists().where(LocalArea.locale_id == locale.id)
    has_members = exists().where(LocalMember.locale_id == locale.id)
    areas, members = (await session.execute(select(has_areas, has_members))).one()
    if areas or members:
        raise Conflict(
            gettext(
                "This locale still has areas or members; remove them first, "
                "or deactivate it with is_active=false."
            ),
            code="locale_not_empty",
        )
    uses = [fn(locale.id) for fn in _LOCALE_USES]
    if uses and (await session.execute(select(or_(*uses)))).scalar():
        raise Conflict(
            gettext(
                "Other records (a storeroom) belong to this locale; deactivate it with "
                "is_active=false instead."
            ),
            code="locale_in_use",
        )
    await session.delete(locale)
    await session.flush()


# --- areas ---------------------------------------------------------------------------------------


def _tree_error(msg: str, type_: str) -> Unprocessable:
    return Unprocessable(msg, errors=[field_error(("body", "parent_id"), msg, type_)])


async def _parent_in(
    session: AsyncSession, principal: Principal, locale: Locale, parent_id: uuid.UUID
) -> LocalArea:
    parent = await access.get_scoped(session, LocalArea, parent_id, principal)
    if parent.locale_id != locale.id:
        raise _tree_error(
            gettext("The parent must be an area of the same locale."), "parent_other_locale"
        )
    return parent


async def _check_depth(session: AsyncSession, parent_id: uuid.UUID, height: int) -> list[uuid.UUID]:
    ancestors = await repository.ancestor_ids(session, parent_id)
    if len(ancestors) + 1 + height > repository.MAX_AREA_DEPTH:
        raise _tree_error(
            gettext("Areas nest at most {depth} levels deep.", depth=repository.MAX_AREA_DEPTH),
            "area_too_deep",
        )
    return ancestors


async def _area_of(
    session: AsyncSession,
    principal: Principal,
    locale_id: uuid.UUID,
    area_id: uuid.UUID,
    action: access.Action = "read",
) -> LocalArea:
    area = await access.get_scoped(session, LocalArea, area_id, principal, action)
    if area.locale_id != locale_id:
        raise NotFound(gettext("local area not found"))
    return area


async def create_area(
    session: AsyncSession, *, principal: Principal, locale_id: uuid.UUID, data: AreaCreate
) -> LocalArea:
    """Add an area to a locale, at the top level or under another of its areas."""
    locale = await access.get_for_write(session, Locale, locale_id, principal, for_update=True)
    if data.parent_id is not None:
        parent = await _parent_in(session, principal, locale, data.parent_id)
        await _check_depth(session, parent.id, 0)
    area = LocalArea(
        client_id=locale.client_id,
        locale_id=locale.id,
        parent_id=data.parent_id,
        name=data.name,
        kind=data.kind.value,
        code=data.code,
        description=data.description,
    )
    session.add(area)
    await session.flush()
    return area


async def list_areas(
    reader: Reader,
    *,
    locale_id: uuid.UUID,
    params: PageParams,
    parent_id: uuid.UUID | None = None,
    root: bool | None = None,
    kind: AreaKind | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a locale's areas (404 for a locale out of reach)."""
    await reader.row(Locale, locale_id)
    stmt = reader.rows(LocalArea).where(LocalArea.locale_id == locale_id)
    if parent_id is not None:
        stmt = stmt.where(LocalArea.parent_id == parent_id)
    if root is not None:
        stmt = stmt.where(
            LocalArea.parent_id.is_(None) if root else LocalArea.parent_id.is_not(None)
        )
    if kind is not None:
        stmt = stmt.where(LocalArea.kind == kind.value)
    if q:
        stmt = stmt.where(text_search(q, LocalArea.name, LocalArea.code))
    return await reader.page(
        stmt, params, sort_fields=AREA_SORTS, id_column=LocalArea.id, default_sort="name"
    )


async def get_area(reader: Reader, *, locale_id: uuid.UUID, area_id: uuid.UUID) -> dict[str, Any]:
    """One area of a locale the caller can see, its columns by name."""
    area = await reader.row(LocalArea, area_id)
    if area["locale_id"] != locale_id:
        raise NotFound(gettext("local area not found"))
    return area


async def update_area(
    session: AsyncSession,
    *,
    principal: Principal,
    locale_id: uuid.UUID,
    area_id: uuid.UUID,
    data: AreaUpdate,
) -> LocalArea:
    """Change an area; moving it (``parent_id``) never creates a cycle nor passes the depth cap."""
    locale = await access.get_for_write(session, Locale, locale_id, principal, for_update=True)
    area = await _area_of(session, principal, locale.id, area_id, "write")
    changes = data.model_dump(exclude_unset=True)
    new_parent = changes.get("parent_id")
    if new_parent is not None and new_parent != area.parent_id:
        if new_parent == area.id:
            raise _tree_error(gettext("An area cannot be its own parent."), "area_cycle")
        parent = await _parent_in(session, principal, locale, new_parent)
        height = await repository.subtree_height(session, area.id)
        ancestors = await repository.ancestor_ids(session, parent.id)
        if area.id in ancestors:
            raise _tree_error(
                gettext("An area cannot move under one of its own sub-areas."), "area_cycle"
            )
        await _check_depth(session, parent.id, height)
    if "kind" in changes:
        changes["kind"] = AreaKind(changes["kind"]).value
    for key, value in changes.items():
        setattr(area, key, value)
    await session.flush()
    await access.ensure_still_in_scope(session, area, principal)
    return area


async def delete_area(
    session: AsyncSession, *, principal: Principal, locale_id: uuid.UUID, area_id: uuid.UUID
) -> None:
    """Delete an area without sub-areas."""
    locale = await access.get_for_write(session, Locale, locale_id, principal, for_update=True)
    area = await _area_of(session, principal, locale.id, area_id, "write")
    has_children = exists().where(LocalArea.parent_id == area.id)
    if (await session.execute(select(has_children))).scalar():
        raise Conflict(
            gettext("This area still has sub-areas; move or delete them first."),
            code="area_has_children",
        )
    await session.delete(area)
    await session.flush()


# --- members -------------------------------------------------------------------------------------


def member_read(member: LocalMember, user: User) -> MemberRead:
    """A membership with its user summary."""
    return MemberRead(
        id=member.id,
        client_id=member.client_id,
        locale_id=member.locale_id,
        user_id=member.user_id,
        role=member.role,
        user=MemberUser.model_validate(user),
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


def _members_with_users(principal: Principal, action: access.Action = "read") -> Any:
    """Memberships the principal may ``action``, joined to their users."""
    return (
        select(LocalMember, User)
        .join(User, User.id == LocalMember.user_id)
        .where(access.predicate(LocalMember, principal, action))
    )


async def _member_of(
    session: AsyncSession,
    principal: Principal,
    locale_id: uuid.UUID,
    member_id: uuid.UUID,
    action: access.Action = "read",
) -> tuple[LocalMember, User]:
    stmt = _members_with_users(principal, action).where(
        LocalMember.id == member_id, LocalMember.locale_id == locale_id
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound(gettext("local member not found"))
    return row[0], row[1]


async def add_member(
    session: AsyncSession, *, principal: Principal, locale_id: uuid.UUID, data: MemberCreate
) -> MemberRead:
    """Give a user of the locale's client a role in the locale."""
    locale = await access.get_for_write(session, Locale, locale_id, principal, for_update=True)
    # The locale is within the caller's write reach; its client bounds whom they may add.
    user = (
        await session.execute(
            select(User).where(User.id == data.user_id, User.client_id == locale.client_id)
        )
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(gettext("user not found"))
    if user.role is UserRole.client_owner:
        raise Unprocessable(
            gettext("The client's owner reaches every locale and needs no membership."),
            errors=[
                field_error(("body", "user_id"), gettext("the client's owner"), "member_is_owner")
            ],
        )
    if user.role is not UserRole.client_member:
        raise Unprocessable(
            gettext(
                "Only client members take locale roles; technicians reach locales through "
                "the work assigned to them."
            ),
            errors=[
                field_error(
                    ("body", "user_id"), gettext("not a client member"), "member_role_invalid"
                )
            ],
        )
    taken = select(LocalMember.id).where(
        LocalMember.locale_id == locale.id, LocalMember.user_id == user.id
    )
    if (await session.execute(taken)).first() is not None:
        raise Conflict(
            gettext("This user is already a member of the locale."), code="already_member"
        )
    member = LocalMember(
        client_id=locale.client_id, locale_id=locale.id, user_id=user.id, role=data.role
    )
    session.add(member)
    await flush_or_conflict(
        session, gettext("This user is already a member of the locale."), code="already_member"
    )
    return member_read(member, user)


async def list_members(
    session: AsyncSession,
    *,
    principal: Principal,
    locale_id: uuid.UUID,
    params: PageParams,
    role: LocalRole | None = None,
    q: str | None = None,
) -> tuple[list[MemberRead], str | None]:
    """One page of a locale's members with their user summaries (one query)."""
    await access.get_scoped(session, Locale, locale_id, principal)
    stmt = _members_with_users(principal).where(LocalMember.locale_id == locale_id)
    if role is not None:
        stmt = stmt.where(LocalMember.role == role)
    if q:
        stmt = stmt.where(text_search(q, User.email, User.full_name))
    rows, cursor = await paginate(
        session,
        stmt,
        params,
        sort_fields=MEMBER_SORTS,
        id_column=LocalMember.id,
        default_sort="created_at",
        scalars=False,
    )
    return [member_read(member, user) for member, user in rows], cursor


async def get_member(
    session: AsyncSession, *, principal: Principal, locale_id: uuid.UUID, member_id: uuid.UUID
) -> MemberRead:
    """One membership of a locale the caller can see."""
    return member_read(*await _member_of(session, principal, locale_id, member_id))


async def _member_for_write(
    session: AsyncSession, principal: Principal, locale_id: uuid.UUID, member_id: uuid.UUID
) -> tuple[LocalMember, User]:
    locale = await access.get_for_write(session, Locale, locale_id, principal, for_update=True)
    member, user = await _member_of(session, principal, locale.id, member_id, "write")
    if member.user_id == principal.user_id:
        raise Forbidden(
            gettext("You cannot change your own membership; ask the owner or another manager."),
            code="own_membership",
        )
    return member, user


async def update_member(
    session: AsyncSession,
    *,
    principal: Principal,
    locale_id: uuid.UUID,
    member_id: uuid.UUID,
    data: MemberUpdate,
) -> MemberRead:
    """Change a member's role (owner, staff or a manager of the locale; never one's own)."""
    member, user = await _member_for_write(session, principal, locale_id, member_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(member, key, value)
    await session.flush()
    await access.ensure_still_in_scope(session, member, principal)
    return member_read(member, user)


async def remove_member(
    session: AsyncSession, *, principal: Principal, locale_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """Remove a member from a locale (owner, staff or a manager of the locale; never oneself)."""
    member, _user = await _member_for_write(session, principal, locale_id, member_id)
    await session.delete(member)
    await session.flush()
