"""The change log of what the technicians' apps keep: one row per change, in commit order.

Models a module registers with ``track`` (tickets, tasks, assets, ...) have every ORM insert,
update and delete recorded as a row of the sync log (the model registered with ``log_to``, by
the sync module): its kind, its id, ``upsert`` or ``delete`` (a tombstone), its client and
locale. A model may also name **departures** (``departures=``: who stops reaching an object
through this change, e.g. a ticket's former technician, recorded as a ``depart`` row for that
user or vendor) and **reach resets** (``resets=``: the people whose reach this change narrows
in ways no single object says, e.g. a locale membership removed, recorded as a ``reset`` row:
their older sync cursors are refused and their app syncs fully again).

The rows are collected as each flush happens (no statement) and written just before the
transaction commits, in one multi-row INSERT; on PostgreSQL after a transaction-scoped advisory
lock, so that the log's positions (its autoincrementing key) are handed out in commit order: a
reader that saw position ``n`` committed will never see a smaller one appear later. Taken last,
just before the commit, the lock is held for an INSERT and a commit, and can wait on no other
lock the transaction holds. On SQLite, writers take turns already (``BEGIN IMMEDIATE``).

A bulk ``UPDATE``/``INSERT`` (no ORM object) on a tracked model calls ``touched`` with the ids it
changed: their rows are written from the table itself (``INSERT … SELECT``) at the same moment.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Table, bindparam, event, insert, literal, null, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from kerops.core.filtering import one_of
from kerops.core.models import Base
from kerops.core.types import utcnow

PENDING_KEY = "kerops_sync_pending"
_UUID_NUMBER = operator.attrgetter("int")
BULK_KEY = "kerops_sync_bulk"
#: The advisory lock that orders the log's positions on PostgreSQL ("kerops sync").
LOCK_KEY = 0x6B65726F70735379

#: Who stops reaching an object through a change: ``(user_id, vendor_id)`` pairs.
Departures = Callable[[Any], Iterable[tuple[uuid.UUID | None, uuid.UUID | None]]]
#: Whose reach a change (or a delete, ``deleted=True``) narrows: user ids.
Resets = Callable[[Any, bool], Iterable[uuid.UUID]]


@dataclass(frozen=True, slots=True)
class Tracked:
    """How a model's changes are logged."""

    kind: str | None
    departures: Departures | None
    resets: Resets | None


_TRACKED: dict[type[Base], Tracked] = {}
_LOG: list[type[Base]] = []


def log_to(model: type[Base]) -> None:
    """Register the model of the sync log (by the sync module)."""
    _LOG[:] = [model]


def track(
    model: type[Base],
    kind: str | None,
    *,
    departures: Departures | None = None,
    resets: Resets | None = None,
) -> None:
    """Log the changes of ``model`` as ``kind`` (None: only its departures and resets)."""
    _TRACKED[model] = Tracked(kind, departures, resets)


def kind_of(model: type[Base]) -> str | None:
    """The kind ``model`` is logged as, if it is."""
    tracked = _TRACKED.get(model)
    return None if tracked is None else tracked.kind


def touched(session: AsyncSession | Session, model: type[Base], ids: Iterable[uuid.UUID]) -> None:
    """Record that a bulk statement changed these rows of a tracked model (logged at commit
    from the rows as they are then)."""
    if model not in _TRACKED or _TRACKED[model].kind is None:
        return
    wanted = set(ids)
    if not wanted:
        return
    bulk: dict[type[Base], set[uuid.UUID]] = session.info.setdefault(BULK_KEY, {})
    bulk.setdefault(model, set()).update(wanted)


def _row(obj: Any, kind: str, op: str, now: Any) -> dict[str, Any]:
    table = getattr(obj, "__tablename__", "")
    return {
        "client_id": getattr(obj, "client_id", None),
        "kind": kind,
        "object_id": obj.id,
        "op": op,
        "locale_id": obj.id if table == "locales" else getattr(obj, "locale_id", None),
        # The person a personal object belongs to (a shift, a licence, a notification): its
        # tombstone is theirs to see as well.
        "user_id": getattr(obj, "technician_id", None) or getattr(obj, "user_id", None),
        "vendor_id": None,
        "changed_at": now,
    }


def _personal(
    kind: str, op: str, object_id: Any, user: Any, vendor: Any, now: Any
) -> dict[str, Any]:
    return {
        "client_id": None,  # the person may no longer reach the client: the row is theirs
        "kind": kind,
        "object_id": object_id,
        "op": op,
        "locale_id": None,
        "user_id": user,
        "vendor_id": vendor,
        "changed_at": now,
    }


def _add(pending: dict[tuple[Any, ...], dict[str, Any]], row: dict[str, Any]) -> None:
    key = (row["kind"], row["object_id"], row["op"], row["user_id"], row["vendor_id"])
    pending.pop(key, None)  # the latest change of an object in this transaction, last
    pending[key] = row


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush_context: UOWTransaction) -> None:
    if not _TRACKED:
        return
    pending: dict[tuple[Any, ...], dict[str, Any]] | None = session.info.get(PENDING_KEY)
    now = utcnow()

    def rows() -> dict[tuple[Any, ...], dict[str, Any]]:
        nonlocal pending
        if pending is None:
            pending = session.info[PENDING_KEY] = {}
        return pending

    for obj in session.new:
        tracked = _TRACKED.get(type(obj))
        if tracked is not None and tracked.kind is not None:
            _add(rows(), _row(obj, tracked.kind, "upsert", now))
    for obj in session.dirty:
        tracked = _TRACKED.get(type(obj))
        if tracked is None or not session.is_modified(obj, include_collections=False):
            continue
        if tracked.kind is not None:
            _add(rows(), _row(obj, tracked.kind, "upsert", now))
            for user, vendor in tracked.departures(obj) if tracked.departures else ():
                _add(rows(), _personal(tracked.kind, "depart", obj.id, user, vendor, now))
        for user in tracked.resets(obj, False) if tracked.resets else ():
            _add(rows(), _personal("reach", "reset", user, user, None, now))
    for obj in session.deleted:
        tracked = _TRACKED.get(type(obj))
        if tracked is None:
            continue
        if tracked.kind is not None:
            _add(rows(), _row(obj, tracked.kind, "delete", now))
        for user in tracked.resets(obj, True) if tracked.resets else ():
            _add(rows(), _personal("reach", "reset", user, user, None, now))


@functools.cache
def _bulk_statement(model: type[Base], dialect_name: str) -> Insert:
    """The INSERT … SELECT logging a bulk change of ``model``'s rows (ids: ``object_ids``)."""
    log: Table = _LOG[0].__table__  # type: ignore[assignment]
    table = model.__table__  # type: ignore[attr-defined]
    kind = _TRACKED[model].kind
    columns = table.c
    person = columns.get("technician_id")
    if person is None:
        person = columns.get("user_id")
    rows = select(
        columns.client_id if "client_id" in columns else null(),
        literal(kind),
        columns.id,
        literal("upsert"),
        columns.locale_id if "locale_id" in columns else null(),
        person if person is not None else null(),
        null(),
        bindparam("changed_at", type_=log.c.changed_at.type),
    ).where(one_of(columns.id, "object_ids", dialect_name))
    return insert(log).from_select(
        ["client_id", "kind", "object_id", "op", "locale_id", "user_id", "vendor_id", "changed_at"],
        rows,
    )


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()
    pending = session.info.pop(PENDING_KEY, None)
    bulk = session.info.pop(BULK_KEY, None)
    if not pending and not bulk:
        return
    if not _LOG:
        raise RuntimeError("no module registered the sync log (kerops.core.sync_log.log_to)")
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    if pending:
        connection.execute(insert(_LOG[0]), list(pending.values()))
    for model, ids in (bulk or {}).items():
        connection.execute(
            _bulk_statement(model, dialect),
            # (Sorted by their number: ``UUID``'s own comparison is Python code, per pair.)
            {"object_ids": sorted(ids, key=_UUID_NUMBER), "changed_at": utcnow()},
        )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
    session.info.pop(BULK_KEY, None)
