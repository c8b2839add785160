"""The list of tickets: filters, text and number search, keyset pages by any whitelisted sort
including severity."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, or_

from kerops.core.enums import TicketPriority, TicketStatus
from kerops.core.errors import Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.reads import Reader, StatementRunner
from kerops.core.types import utcnow
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.operations.models import ServiceTicket
from kerops.operations.numbering import number_of
from kerops.operations.tickets import CLOSED_STATES

PRIORITY_RANK = {
    TicketPriority.low.value: 1,
    TicketPriority.medium.value: 2,
    TicketPriority.high.value: 3,
    TicketPriority.critical.value: 4,
}
TICKET_SORTS = {
    "created_at": ServiceTicket.created_at,
    "number": ServiceTicket.number,
    "sla_resolution_due_at": ServiceTicket.sla_resolution_due_at,
}
ALL_TICKET_SORTS = sorted([*TICKET_SORTS, "priority"])


async def list_tickets(
    reader: Reader,
    *,
    params: PageParams,
    status: Sequence[TicketStatus] | None = None,
    priority: TicketPriority | None = None,
    locale_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    requester_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    overdue: bool | None = None,
    sla_breached: bool | None = None,
    sla_warned: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    updated_since: datetime | None = None,
    q: str | None = None,
    fields: Sequence[str] | None = None,
) -> tuple[Sequence[dict[str, Any]], str | None]:
    """One page of the tickets the caller can see, filtered and sorted: their columns by name
    (``TicketRead``'s fields), read through the reader: no session, no ORM objects."""
    stmt = reader.rows(ServiceTicket)
    stmt = await customfields.filter_rows(reader, stmt, entity=FieldEntity.ticket, filters=fields)
    if status:
        stmt = stmt.where(ServiceTicket.status.in_(list(dict.fromkeys(status))))
    if priority is not None:
        stmt = stmt.where(ServiceTicket.priority == priority)
    for column, value in (
        (ServiceTicket.locale_id, locale_id),
        (ServiceTicket.asset_id, asset_id),
        (ServiceTicket.technician_id, technician_id),
        (ServiceTicket.requester_id, requester_id),
        (ServiceTicket.vendor_id, vendor_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if overdue is not None:
        late = and_(
            ServiceTicket.sla_resolution_due_at < utcnow(),
            ServiceTicket.status.not_in(CLOSED_STATES),
        )
        stmt = stmt.where(late if overdue else ~late)
    if sla_breached is not None:  # SLA: either target breached
        breached = or_(ServiceTicket.sla_response_breached, ServiceTicket.sla_resolution_breached)
        stmt = stmt.where(breached if sla_breached else ~breached)
    if sla_warned is not None:  # SLA: either target warned
        warned = or_(
            ServiceTicket.sla_response_warned_at.is_not(None),
            ServiceTicket.sla_resolution_warned_at.is_not(None),
        )
        stmt = stmt.where(warned if sla_warned else ~warned)
    if created_from is not None:
        stmt = stmt.where(ServiceTicket.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(ServiceTicket.created_at < created_to)
    if updated_since is not None:
        stmt = stmt.where(ServiceTicket.updated_at >= updated_since)
    if q:
        search = text_search(q, ServiceTicket.title, ServiceTicket.description)
        number = number_of(q)
        stmt = stmt.where(or_(search, ServiceTicket.number == number) if number else search)
    if (params.sort or "").lstrip("-") == "priority":
        return await _paginate_by_priority(reader.runner, stmt, params)
    if (params.sort or "-created_at").lstrip("-") not in TICKET_SORTS:
        raise Unprocessable(
            gettext(
                "Cannot sort by '{name}'. Allowed: {allowed}.",
                name=(params.sort or "").lstrip("-"),
                allowed=", ".join(ALL_TICKET_SORTS),
            ),
            errors=[field_error(("query", "sort"), gettext("unknown sort field"), "sort_invalid")],
        )
    return await reader.page(
        stmt,
        params,
        sort_fields=TICKET_SORTS,
        id_column=ServiceTicket.id,
        default_sort="-created_at",
    )


def _bad_cursor() -> Unprocessable:
    return Unprocessable(
        gettext("The cursor is not valid for this list and sort."),
        errors=[field_error(("query", "cursor"), gettext("invalid cursor"), "cursor_invalid")],
    )


async def _paginate_by_priority(
    runner: StatementRunner, stmt: Select[Any], params: PageParams
) -> tuple[Sequence[dict[str, Any]], str | None]:
    """Keyset pages ordered by severity (low < medium < high < critical), then id; each row's
    columns as a dict by name (as ``paginate`` through a runner)."""
    assert params.sort is not None
    descending = params.sort.startswith("-")
    rank = case(PRIORITY_RANK, value=ServiceTicket.priority, else_=0)
    if params.cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(params.cursor.encode() + b"=="))
            if raw.get("s") != params.sort or not isinstance(raw.get("v"), int):
                raise _bad_cursor()
            last_id, last_rank = uuid.UUID(raw["i"]), int(raw["v"])
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise _bad_cursor() from exc
        if descending:
            stmt = stmt.where(
                or_(rank < last_rank, and_(rank == last_rank, ServiceTicket.id < last_id))
            )
        else:
            stmt = stmt.where(
                or_(rank > last_rank, and_(rank == last_rank, ServiceTicket.id > last_id))
            )
    order = (rank.desc(), ServiceTicket.id.desc()) if descending else (rank.asc(), ServiceTicket.id)
    rows = list(await runner.all(stmt.order_by(*order).limit(params.limit + 1)))
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        payload = {"s": params.sort, "i": str(last.id), "v": PRIORITY_RANK[last.priority.value]}
        next_cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return [row._asdict() for row in rows], next_cursor
