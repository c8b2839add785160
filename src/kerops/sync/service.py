"""The sync stream: what changed, was deleted or left the caller's reach since a cursor.

One keyset page of the sync log (``SyncChange``) after the cursor's position, limited by the
log's rule and reduced to each object's latest row (one statement); then, per kind present in
the page, the objects the caller reads, by their own rules (one statement per kind, never one
per row). Each object appears once per page, as its own GET shows it; a change of an object the
caller does not read is left out, unless the object departed from them (then it is a delete).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, Table, bindparam, delete, exists, or_, select

from kerops.core.errors import Gone, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.security import Security
from kerops.core.types import utcnow
from kerops.sync import kinds, rules
from kerops.sync.models import SyncChange

LOG: Table = SyncChange.__table__  # type: ignore[assignment]
#: How long tombstones, departures and resets are kept, by default (``sync_tombstone_days``).
DEFAULT_DAYS = 30


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where an app stands in the log: the last position it was given, for which person, and
    when the sync pass that reached it began (its age decides expiry)."""

    position: int
    user_id: uuid.UUID
    began: int


def encode_cursor(cursor: Cursor, security: Security) -> str:
    """The cursor as the opaque, signed text the app sends back."""
    payload = {"p": cursor.position, "u": str(cursor.user_id), "t": cursor.began}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{body}.{security.sign(body)}"


def _bad_cursor() -> Unprocessable:
    return Unprocessable(
        gettext("The sync cursor is not valid for you."),
        code="sync_cursor_invalid",
        errors=[
            field_error(("query", "since"), gettext("invalid sync cursor"), "sync_cursor_invalid")
        ],
    )


def decode_cursor(text: str, security: Security, principal: Principal) -> Cursor:
    """The cursor the app sent: signed by this service, for this caller (422 otherwise)."""
    body, _, signature = text.partition(".")
    if not signature or not security.verify_signature(body, signature):
        raise _bad_cursor()
    try:
        raw = json.loads(base64.urlsafe_b64decode(body.encode() + b"=="))
        cursor = Cursor(int(raw["p"]), uuid.UUID(raw["u"]), int(raw["t"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _bad_cursor() from exc
    if cursor.user_id != principal.user_id:
        raise _bad_cursor()
    return cursor


def _expired() -> Gone:
    return Gone(
        gettext("The sync cursor has expired: sync fully again, without since."),
        code="sync_cursor_expired",
    )


@functools.lru_cache(maxsize=2048)
def _page_statement(p: Principal) -> Select[Any]:
    """The log's rows after ``:since`` the caller sees, each object's latest only, with whether
    it departed from the caller after ``:since``; ``LIMIT :size``."""
    later = LOG.alias("later")
    departed = LOG.alias("departed")
    superseded = exists().where(
        later.c.object_id == LOG.c.object_id,
        later.c.position > LOG.c.position,
        rules.later_counts(later, p),
    )
    has_departed = (
        exists()
        .where(
            departed.c.object_id == LOG.c.object_id,
            departed.c.op == "depart",
            departed.c.position > bindparam("since"),
            rules.personal(departed, p),
        )
        .label("departed")
    )
    return (
        select(LOG.c.position, LOG.c.kind, LOG.c.object_id, LOG.c.op, has_departed)
        .where(
            rules.log_predicate(LOG, p, "read"),
            LOG.c.position > bindparam("since"),
            LOG.c.op != "reset",
            ~superseded,
        )
        .order_by(LOG.c.position)
        .limit(bindparam("size"))
    )


def _reset_statement() -> Select[Any]:
    """Whether the caller's reach was reset after ``:since`` (their cursor is then stale)."""
    return (
        select(LOG.c.position)
        .where(
            LOG.c.user_id == bindparam("user_id"),
            LOG.c.op == "reset",
            LOG.c.position > bindparam("since"),
        )
        .limit(1)
    )


_RESET = _reset_statement()


async def _objects(reader: Reader, wanted: dict[str, list[uuid.UUID]]) -> dict[str, dict[Any, Any]]:
    """The objects of each kind the caller reads, by id: one statement per kind, for every
    kind whatever the page holds (an empty list included), so that a page costs the same
    statements however many objects, and of which kinds, it shows."""
    found: dict[str, dict[Any, Any]] = {}
    for name, kind in kinds.KINDS.items():
        ids = wanted.get(name, [])
        table = kind.model.__table__  # type: ignore[attr-defined]
        stmt = reader.rows(kind.model).where(table.c.id.in_(ids))
        rows = [row._asdict() for row in await reader.runner.all(stmt)]
        if kind.shown is not None and rows:
            rows = await kind.shown(reader, rows)
        found[name] = {row["id"]: row for row in rows}
    return found


async def stream(
    reader: Reader, *, since: str | None, limit: int, security: Security, keep_days: int
) -> dict[str, Any]:
    """One page of the caller's sync stream after ``since`` (a cursor; None: everything the
    caller reads, as upserts)."""
    p = reader.principal
    now = int(time.time())
    if since is None:
        cursor = Cursor(0, p.user_id, now)
    else:
        cursor = decode_cursor(since, security, p)
        if now - cursor.began > keep_days * 86400:
            raise _expired()
    first = since is None
    async with reader.sharing():
        if not first:
            reset = await reader.runner.all(
                _RESET, {"user_id": p.user_id, "since": cursor.position}
            )
            if reset:
                raise _expired()
        rows: Sequence[Any] = await reader.runner.all(
            _page_statement(p), {"since": cursor.position, "size": limit + 1}
        )
        more = len(rows) > limit
        rows = rows[:limit]
        wanted: dict[str, list[uuid.UUID]] = {}
        for row in rows:
            if row.op in ("upsert", "depart") and row.kind in kinds.KINDS:
                wanted.setdefault(row.kind, []).append(row.object_id)
        objects = await _objects(reader, wanted)
    items: list[dict[str, Any]] = []
    for row in rows:
        kind = kinds.KINDS.get(row.kind)
        if kind is None:
            continue
        shown = objects.get(row.kind, {}).get(row.object_id)
        if row.op in ("upsert", "depart") and shown is not None:
            data = kind.schema.model_validate(shown).model_dump(mode="json")
            items.append({"kind": row.kind, "id": str(row.object_id), "op": "upsert", "data": data})
        elif not first and (row.op in ("delete", "depart") or row.departed):
            items.append({"kind": row.kind, "id": str(row.object_id), "op": "delete", "data": None})
    position = rows[-1].position if rows else cursor.position
    if more:
        next_cursor = encode_cursor(Cursor(position, p.user_id, cursor.began), security)
        return {"items": items, "next_cursor": next_cursor, "cursor": None}
    # Drained: the app is in step with the log as of now.
    done = encode_cursor(Cursor(position, p.user_id, now), security)
    return {"items": items, "next_cursor": None, "cursor": done}


async def prune(session: Any, *, keep_days: int) -> int:
    """Delete the log's rows no cursor still needs: tombstones, departures and resets older
    than ``keep_days``, and changes older than that which a later change of the same object
    supersedes (the latest change of a live object stays: the first sync reads it)."""
    cutoff = utcnow() - timedelta(days=keep_days)
    later = LOG.alias("later")
    superseded = exists().where(
        later.c.object_id == LOG.c.object_id,
        later.c.position > LOG.c.position,
        later.c.op.in_(rules.SHARED_OPS),
    )
    stmt = delete(LOG).where(LOG.c.changed_at < cutoff, or_(LOG.c.op != "upsert", superseded))
    result = await session.execute(stmt)
    return int(result.rowcount)
