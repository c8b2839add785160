"""What tenancy plugs into core: locale membership (which every locale rule reads), the rules
of locales, areas and members, and the locale count of the plans."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, select, true

from kerops.core import access, limits
from kerops.core.access import Action
from kerops.core.enums import LocalRole, UserRole
from kerops.core.principal import Principal
from kerops.tenancy.models import LocalArea, Locale, LocalMember


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

limits.count_rows(Locale, "locales")
