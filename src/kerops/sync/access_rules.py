"""What sync plugs into core: the sync log's model and the models whose changes it logs (with
a ticket's departures and the reach resets of memberships and roles), and the rule of the log:
who sees which of its rows (``kerops.sync.service`` then shows only objects the caller reads)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, inspect
from sqlalchemy.orm.base import NO_VALUE

from kerops.core import access, sync_log
from kerops.core.access import Action
from kerops.core.principal import Principal
from kerops.operations.models import ServiceTicket
from kerops.sync import kinds
from kerops.sync.models import SyncChange
from kerops.sync.rules import log_predicate
from kerops.tenancy.models import LocalMember
from kerops.users.models import User

sync_log.log_to(SyncChange)


def _before(obj: Any, key: str) -> Any:
    """The value of ``key`` before this flush's change of ``obj`` (itself when unchanged)."""
    committed = inspect(obj).committed_state
    if key not in committed:
        return getattr(obj, key)
    value = committed[key]
    return None if value is NO_VALUE else value


def _ticket_departures(
    ticket: ServiceTicket,
) -> Iterable[tuple[uuid.UUID | None, uuid.UUID | None]]:
    """A reassigned ticket leaves its former technician, and its former vendor's admins."""
    technician = _before(ticket, "technician_id")
    if technician is not None and technician != ticket.technician_id:
        yield technician, None
    vendor = _before(ticket, "vendor_id")
    if vendor is not None and vendor != ticket.vendor_id:
        yield None, vendor


def _member_resets(member: LocalMember, deleted: bool) -> Iterable[uuid.UUID]:
    """A membership removed, or its role changed, narrows (or widens) its person's reach."""
    if (
        deleted
        or _before(member, "role") != member.role
        or _before(member, "locale_id") != (member.locale_id)
    ):
        yield member.user_id


def _user_resets(user: User, deleted: bool) -> Iterable[uuid.UUID]:
    """A person's role, client-wide role, client or vendor changed, or the person is gone."""
    keys = ("role", "client_role", "client_id", "vendor_id")
    if deleted or any(_before(user, key) != getattr(user, key) for key in keys):
        yield user.id


for _model, _kind in kinds.TRACKED.items():
    sync_log.track(
        _model,
        _kind,
        departures=_ticket_departures if _model is ServiceTicket else None,  # type: ignore[arg-type]
    )
sync_log.track(LocalMember, None, resets=_member_resets)  # type: ignore[arg-type]
sync_log.track(User, None, resets=_user_resets)  # type: ignore[arg-type]


@access.rule(SyncChange)
def _sync_changes(p: Principal, action: Action) -> ColumnElement[bool]:
    return log_predicate(SyncChange.__table__, p, action)  # type: ignore[arg-type]
