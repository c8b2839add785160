"""What tenancy plugs into core: locale membership (which every locale rule reads), the rules
of locales, areas and members, the people a member reads through their locales, and the locale
count of the plans. And into users: how an invitation makes the person a member of a locale."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access, limits
from kerops.core.access import Action
from kerops.core.enums import LocalRole, UserRole
from kerops.core.principal import Principal
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.tenancy.models import LocalArea, Locale, LocalMember
from kerops.users import service as user_service
from kerops.users.models import User


def _member_locale_ids(principal: Principal, roles: tuple[LocalRole, ...] | None) -> Any:
    stmt = select(LocalMember.locale_id).where(LocalMember.user_id == principal.user_id)
    if roles:
        stmt = stmt.where(LocalMember.role.in_(roles))
    return stmt.scalar_subquery()


def _manages_a_locale(p: Principal) -> ColumnElement[bool]:
    if p.role is UserRole.client_member and p.reaches_every_locale("write"):
        return true()  # a client-wide manager or admin manages every locale
    return exists().where(
        LocalMember.user_id == p.user_id,
        LocalMember.client_id == p.client_id,
        LocalMember.role == LocalRole.manager,
    )


access.membership(member_locales=_member_locale_ids, manages_a_locale=_manages_a_locale)


@access.rule(Locale)
def _locales(p: Principal, action: Action) -> ColumnElement[bool]:
    # Technicians and vendor admins also read the premises they are sent to (operations).
    return access.locale_predicate(Locale.id, Locale.client_id, p, action)  # type: ignore[no-any-return]


access.rule(LocalArea)(access.locale_rule(LocalArea))
access.rule(LocalMember)(access.locale_rule(LocalMember))


@access.reach(User)
def _people_of_shared_locales(p: Principal) -> ColumnElement[bool]:
    # Members see the people who share one of their locales (to pick assignees, etc.); owners
    # and client-wide roles already see their client's people, vendor admins their vendor's.
    vendor_admin = p.role is UserRole.vendor_admin and p.vendor_id is not None
    if p.client_id is None or p.reaches_every_locale("read") or vendor_admin:
        return false()
    shared = select(LocalMember.user_id).where(
        LocalMember.locale_id.in_(access.member_locale_ids(p)),
    )
    return (User.client_id == p.client_id) & User.id.in_(shared.scalar_subquery())


async def _invited_locale(
    session: AsyncSession, principal: Principal, locale_id: uuid.UUID
) -> Locale:
    return await access.get_scoped(session, Locale, locale_id, principal, "write")


def _add_invited_member(
    session: AsyncSession, locale: user_service.InvitedLocale, user_id: uuid.UUID, role: LocalRole
) -> None:
    session.add(
        LocalMember(client_id=locale.client_id, locale_id=locale.id, user_id=user_id, role=role)
    )


user_service.invite_into_locales(find=_invited_locale, add_member=_add_invited_member)

limits.count_rows(Locale, "locales")
customfields.carried_by(FieldEntity.locale, Locale)
