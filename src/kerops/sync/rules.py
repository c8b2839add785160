"""Who sees which rows of the sync log (the rule of ``SyncChange``, also applied to the log's
aliases in the stream's statement)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select

from kerops.core import access
from kerops.core.access import Action
from kerops.core.enums import UserRole
from kerops.core.principal import Principal
from kerops.operations.access_rules import assigned_ticket_ids
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale

#: Rows every reader of the object may see (filtered by the object's own rule when shown).
SHARED_OPS = ("upsert", "delete")
#: Rows of one person (or one vendor's admins).
PERSONAL_OPS = ("depart", "reset")


def personal(table: Any, p: Principal) -> ColumnElement[bool]:
    """Rows addressed to the caller: to them, or (a vendor admin) to their vendor."""
    mine = table.c.user_id == p.user_id
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return or_(mine, table.c.vendor_id == p.vendor_id)
    return mine  # type: ignore[no-any-return]


def later_counts(table: Any, p: Principal) -> ColumnElement[bool]:
    """The rows of an object that supersede its earlier ones for the caller: any change of it,
    and the departures addressed to the caller."""
    return or_(  # type: ignore[no-any-return]
        table.c.op.in_(SHARED_OPS), table.c.op.in_(PERSONAL_OPS) & personal(table, p)
    )


def _clients(table: Any, p: Principal) -> ColumnElement[bool]:
    """Changes of objects of the caller's client, of the clients of work assigned to them, and
    of no client (a vendor's notification)."""
    found: list[Any] = [table.c.client_id.is_(None)]
    if p.client_id is not None:
        found.append(table.c.client_id == p.client_id)
    assigned = assigned_ticket_ids(p)
    if assigned is not None:
        clients = select(ServiceTicket.client_id).where(
            ServiceTicket.id.in_(assigned.scalar_subquery())
        )
        found.append(table.c.client_id.in_(clients.scalar_subquery()))
    return or_(*found)  # type: ignore[no-any-return]


def log_predicate(table: Any, p: Principal, action: Action) -> ColumnElement[bool]:
    """The log's rows the caller sees: changes of objects of their clients (each shown only if
    the caller reads the object), tombstones of objects of a locale they read (or, without a
    locale, of their client or their own), and the departures and resets addressed to them.
    Nobody writes the log through the API."""
    if action == "write":
        return false()
    addressed = table.c.op.in_(PERSONAL_OPS) & personal(table, p)
    if p.is_staff:
        return or_(table.c.op.in_(SHARED_OPS), addressed)  # type: ignore[no-any-return]
    readable_locales = select(Locale.id).where(access.predicate(Locale, p)).scalar_subquery()
    own = table.c.user_id == p.user_id
    same_client = table.c.client_id == p.client_id if p.client_id is not None else false()
    tombstone = or_(
        table.c.locale_id.in_(readable_locales),
        table.c.locale_id.is_(None) & or_(same_client, own),
    )
    return or_(  # type: ignore[no-any-return]
        (table.c.op == "upsert") & _clients(table, p),
        (table.c.op == "delete") & tombstone,
        addressed,
    )
