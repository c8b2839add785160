"""Audit capture: every flushed insert, update and delete is written to ``audit_logs``.

It hooks the ORM's ``after_flush``, so a change is logged in the same transaction as the change
itself and a rolled-back request leaves neither. Columns a model lists in ``__audit_exclude__``
(password and key hashes, encrypted secrets) are never written.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE

from kerops import speedups
from kerops.core.models import Base
from kerops.core.principal import AuditContext
from kerops.core.types import utcnow, uuid7

AUDIT_CONTEXT_KEY = "kerops_audit"
#: Whether the values before a change are read from the ORM's ``committed_state`` (the
#: ``audit_committed_state`` speed-up, ``kerops.speedups``) or from each column's history.
READ_COMMITTED_STATE = True
REDACTED = "[redacted]"


def set_audit_context(session: Session, context: AuditContext) -> None:
    """Attach who/where to a session; every change flushed by it is attributed to that."""
    session.info[AUDIT_CONTEXT_KEY] = context


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


#: Per model, its audited columns: (attribute key, redacted?). ``created_at``/``updated_at`` are
#: left out (the row's own time says when).
_AUDITED_COLUMNS: dict[type, tuple[tuple[str, bool], ...]] = {}
#: The model the change rows are written to (registered by the audit module).
_LOG: list[type[Base]] = []


def log_to(model: type[Base]) -> None:
    """Register the model of the change log (``audit_logs``)."""
    _LOG[:] = [model]


def _audited_columns(obj: Base) -> tuple[tuple[str, bool], ...]:
    return _audited_columns_of(type(obj))


def _audited_columns_of(cls: type[Base]) -> tuple[tuple[str, bool], ...]:
    columns = _AUDITED_COLUMNS.get(cls)
    if columns is None:
        exclude = cls.__audit_exclude__
        columns = _AUDITED_COLUMNS[cls] = tuple(
            (attr.key, attr.key in exclude)
            for attr in inspect(cls).column_attrs
            if attr.key not in ("created_at", "updated_at")
        )
    return columns


def _entry(before: Any, after: Any, redacted: bool) -> dict[str, Any]:
    if redacted:
        return {"before": REDACTED if before else None, "after": REDACTED}
    return {"before": _plain(before), "after": _plain(after)}


def _snapshot(obj: Base, *, changed_only: bool) -> dict[str, dict[str, Any]]:
    """Each audited column's value before and after this flush (only the changed ones with
    ``changed_only``). Read from the instance's state: its current values, and the values from
    before the change that the ORM keeps for modified attributes (``committed_state``): the
    same as each attribute's history, without building a history per column (the
    ``audit_committed_state`` speed-up; ``_snapshot_from_history`` without it)."""
    state = inspect(obj)
    if not READ_COMMITTED_STATE:
        return _snapshot_from_history(obj, changed_only=changed_only)
    current = state.dict
    committed = state.committed_state
    changes: dict[str, dict[str, Any]] = {}
    for key, redacted in _audited_columns(obj):
        if key in committed:
            before = committed[key]
            after = current.get(key)
            if before is after and isinstance(before, dict | list):
                # The same mutable object (changed in place and flagged, or set again): its
                # history says whether and what changed.
                history = state.attrs[key].history
                if not history.has_changes():
                    if changed_only:
                        continue
                    before = None
                else:
                    before = history.deleted[0] if history.deleted else None
            elif before is NO_VALUE:
                before = None
            if _plain(before) == _plain(after):
                if changed_only:
                    continue
                before = None  # set again to the same value: not a change
        elif changed_only:
            continue
        else:
            before, after = None, current.get(key)
        changes[key] = _entry(before, after, redacted)
    return changes


def _snapshot_from_history(obj: Base, *, changed_only: bool) -> dict[str, dict[str, Any]]:
    """``_snapshot`` through SQLAlchemy's public attribute history (one history per column)."""
    state = inspect(obj)
    changes: dict[str, dict[str, Any]] = {}
    for key, redacted in _audited_columns(obj):
        history = state.attrs[key].history
        after = state.dict.get(key)
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            if _plain(before) == _plain(after):
                if changed_only:
                    continue
                before = None
        elif changed_only:
            continue
        else:
            before = None
        changes[key] = _entry(before, after, redacted)
    return changes


def _scope_of(obj: Any) -> tuple[Any, Any]:
    table = getattr(obj, "__tablename__", "")
    client_id = obj.id if table == "clients" else getattr(obj, "client_id", None)
    locale_id = obj.id if table == "locales" else getattr(obj, "locale_id", None)
    return client_id, locale_id


def _row(obj: Base, action: str, changes: dict[str, Any], ctx: AuditContext) -> dict[str, Any]:
    client_id, locale_id = _scope_of(obj)
    return {
        "id": uuid7(),
        "occurred_at": utcnow(),
        "actor_user_id": ctx.actor_user_id,
        "actor_api_key_id": ctx.actor_api_key_id,
        "action": action,
        "table_name": obj.__tablename__,
        "record_id": str(getattr(obj, "id", "")),
        "changes": changes,
        "client_id": client_id,
        "locale_id": locale_id,
        "request_id": ctx.request_id,
        "ip_address": ctx.ip_address,
    }


#: The columns of the change log's rows that :func:`created_records` gives, in order.
LOG_COLUMNS = (
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_api_key_id",
    "action",
    "table_name",
    "record_id",
    "changes",
    "client_id",
    "locale_id",
    "request_id",
    "ip_address",
)


def _json_default(value: Any) -> Any:
    # The values JSON has no form of its own for, as ``_plain`` writes them.
    return _plain(value)


#: Writes a value's JSON as ``json.dumps`` of its ``_plain`` form does, in one C-level pass:
#: the values JSON has no form for (UUIDs, dates, decimals, enums that are not text) through
#: ``_plain``.
_VALUE_JSON = json.JSONEncoder(default=_json_default).encode
_text_json = json.encoder.encode_basestring_ascii


def _uuid_json(value: uuid.UUID) -> str:
    return f'"{value}"'


def _date_json(value: date | datetime) -> str:
    return f'"{value.isoformat()}"'


def _dict_json(value: dict[Any, Any]) -> str:
    return _VALUE_JSON(value) if value else "{}"


#: The JSON of the common exact types, cheaper than the encoder's call for each.
_JSON_OF: dict[type, Any] = {
    str: _text_json,
    int: int.__repr__,
    bool: {True: "true", False: "false"}.__getitem__,
    uuid.UUID: _uuid_json,
    date: _date_json,
    datetime: _date_json,
    dict: _dict_json,
}


def _json(value: Any) -> str:
    encode = _JSON_OF.get(type(value))
    return encode(value) if encode is not None else _VALUE_JSON(value)


def created_records(
    session: Session,
    model: type[Base],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> list[list[Any]]:
    """The audit rows of rows inserted in bulk, not through the ORM (the ``after_flush`` hook
    never sees them): each row a list of ``columns``' values, each audit row a list of
    ``LOG_COLUMNS``' values, its ``changes`` as JSON text, the text ``json.dumps`` writes of
    what the hook writes for an ORM create, less the columns left empty. The caller inserts
    them into :func:`log_model`'s table."""
    if not model.__audited__:
        return []
    ctx: AuditContext = session.info.get(AUDIT_CONTEXT_KEY) or AuditContext(request_id="system")
    audited = dict(_audited_columns_of(model))
    # Each column's JSON up to its value (``"name": {"before": null, "after": ``), built once.
    heads = [
        (i, f'{_text_json(key)}: {{"before": null, "after": ')
        for i, key in enumerate(columns)
        if audited.get(key) is False
    ]
    hidden = [
        f'{_text_json(key)}: {{"before": null, "after": {_text_json(REDACTED)}}}'
        for key, redacted in audited.items()
        if redacted
    ]
    position = {key: i for i, key in enumerate(columns)}
    at_id = position["id"]
    table = model.__tablename__
    at_client = at_id if table == "clients" else position.get("client_id")
    at_locale = at_id if table == "locales" else position.get("locale_id")
    now = utcnow()
    fixed = (ctx.actor_user_id, ctx.actor_api_key_id, "create", table)
    records: list[list[Any]] = []
    for row in rows:
        parts = [
            f"{head}{_text_json(value) if type(value) is str else _json(value)}}}"
            for i, head in heads
            if (value := row[i]) is not None
        ]
        records.append(
            [
                uuid7(),
                now,
                *fixed,
                str(row[at_id]),
                "{" + ", ".join(parts + hidden) + "}",
                None if at_client is None else row[at_client],
                None if at_locale is None else row[at_locale],
                ctx.request_id,
                ctx.ip_address,
            ]
        )
    return records


def log_model() -> type[Base]:
    """The model of the change log (``audit_logs``)."""
    if not _LOG:
        raise RuntimeError("no module registered the audit log (kerops.core.audit.log_to)")
    return _LOG[0]


@event.listens_for(Session, "after_flush")
def _write_audit_rows(session: Session, _flush_context: UOWTransaction) -> None:
    ctx: AuditContext = session.info.get(AUDIT_CONTEXT_KEY) or AuditContext(request_id="system")
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Base) and type(obj).__audited__:
            rows.append(_row(obj, "create", _snapshot(obj, changed_only=False), ctx))
    for obj in session.dirty:
        # (No ``session.is_modified`` first: it builds every attribute's history, and the
        # snapshot is empty for an object whose columns did not change.)
        if isinstance(obj, Base) and type(obj).__audited__:
            changes = _snapshot(obj, changed_only=True)
            if changes:
                rows.append(_row(obj, "update", changes, ctx))
    for obj in session.deleted:
        if isinstance(obj, Base) and type(obj).__audited__:
            before = {
                k: {"before": v["after"] if v["before"] is None else v["before"], "after": None}
                for k, v in _snapshot(obj, changed_only=False).items()
            }
            rows.append(_row(obj, "delete", before, ctx))
    if rows:
        if not _LOG:
            raise RuntimeError("no module registered the audit log (kerops.core.audit.log_to)")
        session.connection().execute(insert(_LOG[0]), rows)


def _read_committed_state(on: bool) -> None:
    global READ_COMMITTED_STATE
    READ_COMMITTED_STATE = on


speedups.code_path("audit_committed_state", _read_committed_state)
