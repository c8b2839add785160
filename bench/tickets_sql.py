"""The SQL of the tickets reference (``raw_app.TicketsReference``), rendered once at start-up.

Each statement is built from the project's table definitions and compiled with SQLAlchemy's
asyncpg dialect a single time, so its text is word for word the one the app sends (the benchmark's
preflight checks it); the reference then runs it on asyncpg with positional arguments. Rows are
plain dicts and tuples; the JSON documents are built by hand in the field order of the app's
``TicketRead``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import JSON, bindparam, false, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.sql import ClauseElement

from kerops.audit.models import AuditLog
from kerops.core.types import uuid7
from kerops.operations.models import (
    ServiceTicket,
    TicketCounter,
    TicketHistory,
    Workflow,
    WorkflowStep,
)
from kerops.operations.schemas import TicketRead
from kerops.tenancy.models import Locale

try:  # SLA policies (the platform default when a client has none)
    from kerops.operations import sla as _sla
    from kerops.operations.models import SlaPolicy  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older schema: fixed hours per priority
    _sla = None
    SlaPolicy = None

from kerops.assets.models import Asset

_DIALECT = pg_asyncpg.dialect()
_PLACEHOLDER = uuid.UUID(int=0)


def render(stmt: ClauseElement, **kwargs: Any) -> tuple[str, list[str]]:
    """The statement's text as the app's driver receives it, and its parameter names in order."""
    compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True}, **kwargs)
    return str(compiled), list(compiled.positiontup or [])


def _value_name(parameter: str) -> str:
    """``client_id_1`` → ``client_id``, ``status_1_1`` → ``status``, ``param_1`` → ``limit``."""
    if parameter.startswith("param_"):
        return "limit"
    base = parameter.rstrip("0123456789").rstrip("_")
    return base.rstrip("0123456789").rstrip("_") if base.endswith("_1") else base


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    """A value as the audit log stores it (``kerops.core.audit._plain``)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class Statements:
    """Every statement of the reference, with the functions that build its rows and documents."""

    def __init__(self) -> None:
        t = ServiceTicket
        cid, oid = _PLACEHOLDER, _PLACEHOLDER
        self.get_ticket, _ = render(select(t).where(t.client_id == cid).where(t.id == oid))
        # A transition reads the ticket with its row locked (``operations.transitions.transition``).
        self.get_ticket_for_update, _ = render(
            select(t).where(t.client_id == cid).where(t.id == oid).with_for_update()
        )
        self._lists: dict[tuple[bool, bool], tuple[str, list[str]]] = {}
        now = datetime(2000, 1, 1)
        for locale in (False, True):
            for keyset in (False, True):
                stmt = select(t).where(t.client_id == cid).where(t.status.in_(["open"]))
                if locale:
                    stmt = stmt.where(t.locale_id == oid)
                if keyset:
                    # The app's cursor (``kerops.core.pagination``): one row-value comparison.
                    # (Named parameters: the text is the same, the names map to the values.)
                    after = tuple_(
                        bindparam("created_at_1", now, type_=t.created_at.type),
                        bindparam("id_1", oid, type_=t.id.type),
                    )
                    stmt = stmt.where(tuple_(t.created_at, t.id) < after)
                stmt = stmt.order_by(t.created_at.desc(), t.id.desc()).limit(21)
                text, names = render(stmt)
                self._lists[(locale, keyset)] = (text, [_value_name(n) for n in names])
        self.get_locale, _ = render(
            select(Locale).where(Locale.client_id == cid).where(Locale.id == oid)
        )
        self.get_asset, _ = render(
            select(Asset).where(or_(Asset.client_id == cid, false())).where(Asset.id == oid)
        )
        self.default_workflow, _ = render(
            select(Workflow)
            .where(Workflow.client_id == cid, Workflow.is_default.is_(True))
            .order_by(Workflow.id)
            .limit(1)
        )
        self.bump_counter, _ = render(
            update(TicketCounter)
            .where(TicketCounter.client_id == cid)
            .values(last_number=TicketCounter.last_number + 1)
            .returning(TicketCounter.last_number)
        )
        self.sla_policy: str | None = None
        if SlaPolicy is not None:
            self.sla_policy, _ = render(
                select(SlaPolicy)
                .where(
                    SlaPolicy.client_id == cid,
                    or_(SlaPolicy.locale_id == oid, SlaPolicy.locale_id.is_(None)),
                )
                .order_by(SlaPolicy.locale_id.is_(None))
                .limit(1)
            )
            self.sla_minutes = {p.value: m for p, m in _sla.DEFAULT_TARGETS.items()}
        else:  # pragma: no cover
            from kerops.operations import tickets

            hours = tickets.DEFAULT_SLA_HOURS  # type: ignore[attr-defined]
            self.sla_minutes = {p.value: (r * 60, s * 60) for p, (r, s) in hours.items()}
        self.steps_from, _ = render(
            select(WorkflowStep)
            .where(WorkflowStep.workflow_id == oid, WorkflowStep.from_status == "open")
            .order_by(WorkflowStep.position, WorkflowStep.id)
        )
        # The ORM's flush of the moved ticket: the changed columns, by id.
        self.move, _ = render(
            update(t).where(t.id == oid).values(status="assigned", updated_at=now)
        )
        self.ticket_columns = [c.name for c in t.__table__.columns]
        self.json_ticket_columns = {c.name for c in t.__table__.columns if isinstance(c.type, JSON)}
        self.insert_ticket, self._ticket_order = render(
            insert(t.__table__), column_keys=self.ticket_columns
        )
        history_columns = [c.name for c in TicketHistory.__table__.columns]
        self.insert_history, self._history_order = render(
            insert(TicketHistory.__table__), column_keys=history_columns
        )
        audit_columns = [c.name for c in AuditLog.__table__.columns]
        self.insert_audit, self._audit_order = render(
            insert(AuditLog.__table__), column_keys=audit_columns
        )
        self._defaults = self._column_defaults()
        self.fields = list(TicketRead.model_fields)
        self.computed = list(TicketRead.model_computed_fields)

    # --- lists ---

    def list_tickets(self, *, locale: bool, keyset: bool) -> tuple[str, list[str]]:
        """The list statement and the names of its arguments, in order."""
        return self._lists[(locale, keyset)]

    # --- rows ---

    @staticmethod
    def _column_defaults() -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        for column in ServiceTicket.__table__.columns:
            default = column.default
            if default is None:
                defaults[column.name] = None
            elif getattr(default, "is_scalar", False):
                defaults[column.name] = default.arg
            elif column.name in ("id", "created_at", "updated_at"):
                continue
            else:  # a callable such as ``list``
                defaults[column.name] = default.arg(None)
        return defaults

    def new_ticket(self, **values: Any) -> dict[str, Any]:
        """A new ticket's row: the given values over the columns' defaults."""
        row = dict(self._defaults)
        row.update(status="open", source="manual")
        row.update(values)
        row["id"] = uuid7()
        row.setdefault("updated_at", row["created_at"])
        return row

    def ticket_args(self, row: Mapping[str, Any]) -> list[Any]:
        """The INSERT arguments of a ticket row (JSON columns as text)."""
        args = []
        for name in self._ticket_order:
            value = row.get(name)
            if name in self.json_ticket_columns and not isinstance(value, str):
                value = json.dumps(value)
            elif hasattr(value, "value"):
                value = value.value
            args.append(value)
        return args

    @staticmethod
    def new_history(
        ticket: Mapping[str, Any],
        from_status: str | None,
        to_status: str,
        actor_id: uuid.UUID,
        comment: str,
        now: datetime,
    ) -> dict[str, Any]:
        """A status move of ``ticket``."""
        return {
            "id": uuid7(),
            "client_id": ticket["client_id"],
            "locale_id": ticket["locale_id"],
            "ticket_id": ticket["id"],
            "from_status": from_status,
            "to_status": to_status,
            "actor_id": actor_id,
            "comment": comment,
            "created_at": now,
        }

    def history_args(self, row: Mapping[str, Any]) -> list[Any]:
        """The INSERT arguments of a history row."""
        return [row[name] for name in self._history_order]

    def audit_row(
        self,
        action: str,
        table: str,
        row: Mapping[str, Any],
        changes: dict[str, Any] | None,
        user: asyncpg.Record,
        request_id: str,
        ip: str | None,
    ) -> list[Any]:
        """The audit log row of one change (all columns but the timestamps for a create)."""
        if changes is None:
            changes = {
                key: {"before": None, "after": _plain(value)}
                for key, value in row.items()
                if key not in ("created_at", "updated_at")
            }
        values = {
            "id": uuid7(),
            "occurred_at": datetime.now(UTC),
            "actor_user_id": user["id"],
            "actor_api_key_id": None,
            "action": action,
            "table_name": table,
            "record_id": str(row["id"]),
            "changes": json.dumps(changes),
            "client_id": row["client_id"],
            "locale_id": row["locale_id"],
            "request_id": request_id,
            "ip_address": ip,
        }
        return [values[name] for name in self._audit_order]

    async def deadlines(
        self,
        conn: asyncpg.Connection,
        client_id: uuid.UUID,
        locale_id: uuid.UUID,
        priority: str,
        start: datetime,
    ) -> tuple[uuid.UUID | None, datetime, datetime]:
        """(policy id, response due, resolution due) of a new ticket."""
        if self.sla_policy is not None:
            policy = await conn.fetchrow(self.sla_policy, client_id, locale_id, 1)
            if policy is not None:
                target = json.loads(policy["targets"])[priority]
                return (
                    policy["id"],
                    start + timedelta(minutes=int(target["response_minutes"])),
                    start + timedelta(minutes=int(target["resolution_minutes"])),
                )
        response, resolution = self.sla_minutes[priority]
        return None, start + timedelta(minutes=response), start + timedelta(minutes=resolution)

    # --- documents ---

    def ticket_document(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The ticket's JSON document, fields in the app's order."""
        document: dict[str, Any] = {}
        for name in self.fields:
            value = row.get(name)
            if name in self.json_ticket_columns and isinstance(value, str):
                value = json.loads(value)
            document[name] = _json_value(value)
        for name in self.computed:
            if name == "code":
                document[name] = f"T-{row['number']:06d}"
            elif name == "total_cost_minor":
                document[name] = row["labour_cost_minor"] + row["parts_cost_minor"]
        return document
