"""What a work order prints, read for one ticket: the ticket with the names of what it points at,
its tasks, its image files, the parts it used, the time logged on it and its status history.

Every row is read through the reader, so the ticket is a 404 for whoever may not read it, and
its details are read through the rules that make them follow the ticket. The work logs are the
exception: their module registers no rule yet, so they are read by the ticket's id once the
ticket itself was read in the caller's scope (on PostgreSQL row-level security still limits
them to the ticket's client).

The names printed (the locale, area, asset, technician, vendor, requester, the people in the
history) are those of the things the ticket points at, as the ticket's follow-up page shows
them; the work order shows nothing of them beyond their names.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import aliased

from kerops.assets.models import Asset
from kerops.core import access
from kerops.core.errors import NotFound
from kerops.core.reads import Reader
from kerops.core.storage.backends import Storage
from kerops.core.types import quantity_from_stored
from kerops.inventory.models import InventoryMovement, Product
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket, TicketAttachment, TicketHistory, TicketTask
from kerops.parts.service import add_up, part_movements
from kerops.reports.photos import PrintablePhoto, printable, read_stored
from kerops.tenancy.models import LocalArea, Locale
from kerops.users.models import Client, User, Vendor

#: Photos printed at most (the others are counted); each is scaled down (``photos``).
MAX_PHOTOS = 12
#: Rows of each list printed at most (a longer list says how many it left out).
MAX_ROWS = 400


@dataclass(frozen=True, slots=True)
class TaskLine:
    """A checklist item and its result."""

    label: str
    kind: str
    is_done: bool
    passed: bool | None
    value_number: float | None
    value_text: str | None
    min_value: float | None
    max_value: float | None
    completed_by: str | None
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class PartLine:
    """A product used on the ticket: issued, returned, and what the net use cost."""

    sku: str
    name: str
    unit: str
    issued: Decimal
    returned: Decimal
    cost_minor: int

    @property
    def net(self) -> Decimal:
        """Issued less returned."""
        return self.issued - self.returned


@dataclass(frozen=True, slots=True)
class LabourLine:
    """A span of time logged on the ticket."""

    technician: str | None
    category: str
    started_at: datetime
    ended_at: datetime | None
    minutes: int | None
    hourly_rate_minor: int
    cost_minor: int
    billable: bool


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """A status move."""

    at: datetime
    from_status: str | None
    to_status: str
    actor: str | None
    comment: str


@dataclass(frozen=True, slots=True)
class Photo:
    """An image file of the ticket, ready to print."""

    filename: str
    uploaded_at: datetime
    uploaded_by: str | None
    image: PrintablePhoto


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """Everything a work order prints."""

    ticket: dict[str, Any]
    client_name: str
    locale_name: str
    locale_code: str | None
    timezone: str
    area_name: str | None
    asset_name: str | None
    asset_code: str | None
    technician_name: str | None
    vendor_name: str | None
    requester_name: str | None
    tasks: Sequence[TaskLine] = ()
    parts: Sequence[PartLine] = ()
    labour: Sequence[LabourLine] = ()
    history: Sequence[HistoryLine] = ()
    photos: Sequence[Photo] = ()
    signature: Photo | None = None
    #: Image files not printed: beyond ``MAX_PHOTOS``, or not readable as images.
    photos_left_out: int = 0
    #: Per list (tasks, labour, history), the rows beyond ``MAX_ROWS`` left out.
    rows_left_out: dict[str, int] = field(default_factory=dict)

    @property
    def labour_cost_minor(self) -> int:
        """The ticket's labour cost: the sum of its work logs' (docs/labour.md), all of them,
        also when more than the printed rows."""
        return int(self.ticket["labour_cost_minor"])

    @property
    def parts_cost_minor(self) -> int:
        """What the parts used cost (the ticket's parts cost follows the same movements)."""
        if self.parts:
            return sum(line.cost_minor for line in self.parts)
        return int(self.ticket["parts_cost_minor"])


async def _ticket(reader: Reader, ticket_id: uuid.UUID) -> dict[str, Any]:
    technician, requester = aliased(User), aliased(User)
    statement = (
        reader.rows(ServiceTicket)
        .add_columns(
            Client.name.label("wo_client_name"),
            Locale.name.label("wo_locale_name"),
            Locale.code.label("wo_locale_code"),
            Locale.timezone.label("wo_timezone"),
            LocalArea.name.label("wo_area_name"),
            Asset.name.label("wo_asset_name"),
            Asset.code.label("wo_asset_code"),
            technician.full_name.label("wo_technician_name"),
            requester.full_name.label("wo_requester_name"),
            Vendor.name.label("wo_vendor_name"),
        )
        .outerjoin(Client, Client.id == ServiceTicket.client_id)
        .outerjoin(Locale, Locale.id == ServiceTicket.locale_id)
        .outerjoin(LocalArea, LocalArea.id == ServiceTicket.area_id)
        .outerjoin(Asset, Asset.id == ServiceTicket.asset_id)
        .outerjoin(technician, technician.id == ServiceTicket.technician_id)
        .outerjoin(requester, requester.id == ServiceTicket.requester_id)
        .outerjoin(Vendor, Vendor.id == ServiceTicket.vendor_id)
        .where(ServiceTicket.id == ticket_id)
    )
    rows = await reader.runner.all(statement)
    if not rows:
        raise NotFound(access.not_found_detail(ServiceTicket))
    return dict(rows[0]._mapping)


def _capped(rows: Sequence[Any], name: str, left_out: dict[str, int]) -> Sequence[Any]:
    if len(rows) > MAX_ROWS:
        left_out[name] = len(rows) - MAX_ROWS
        return rows[:MAX_ROWS]
    return rows


async def _tasks(reader: Reader, ticket_id: uuid.UUID) -> Sequence[Any]:
    statement = (
        reader.rows(TicketTask)
        .add_columns(User.full_name.label("completed_by_name"))
        .outerjoin(User, User.id == TicketTask.completed_by_id)
        .where(TicketTask.ticket_id == ticket_id)
        .order_by(TicketTask.position, TicketTask.id)
        .limit(MAX_ROWS + 1)
    )
    return await reader.runner.all(statement)


async def _images(reader: Reader, ticket_id: uuid.UUID) -> Sequence[Any]:
    statement = (
        reader.rows(TicketAttachment)
        .add_columns(User.full_name.label("uploaded_by_name"))
        .outerjoin(User, User.id == TicketAttachment.uploaded_by_id)
        .where(
            TicketAttachment.ticket_id == ticket_id,
            TicketAttachment.content_type.startswith("image/"),
        )
        .order_by(TicketAttachment.created_at, TicketAttachment.id)
    )
    return await reader.runner.all(statement)


async def _parts(reader: Reader, ticket_id: uuid.UUID) -> list[PartLine]:
    statement = (
        part_movements(reader, ticket_id)
        .add_columns(
            Product.sku.label("product_sku"),
            Product.name.label("product_name"),
            Product.unit.label("product_unit"),
        )
        .outerjoin(Product, Product.id == InventoryMovement.product_id)
    )
    rows = await reader.runner.all(statement)
    names = {row.product_id: row for row in rows}
    return [
        PartLine(
            names[product].product_sku or "",
            names[product].product_name or "",
            names[product].product_unit or "",
            quantity_from_stored(issued),
            quantity_from_stored(returned),
            cost,
        )
        for product, (issued, returned, cost) in add_up(rows, lambda row: row.product_id).items()
    ]


async def _labour(reader: Reader, ticket_id: uuid.UUID) -> Sequence[Any]:
    statement = (
        reader.rows(TicketWorkLog)
        .add_columns(User.full_name.label("technician_name"))
        .outerjoin(User, User.id == TicketWorkLog.technician_id)
        .where(TicketWorkLog.ticket_id == ticket_id)
        .order_by(TicketWorkLog.started_at, TicketWorkLog.id)
        .limit(MAX_ROWS + 1)
    )
    return await reader.runner.all(statement)


async def _history(reader: Reader, ticket_id: uuid.UUID) -> Sequence[Any]:
    statement = (
        reader.rows(TicketHistory)
        .add_columns(User.full_name.label("actor_name"))
        .outerjoin(User, User.id == TicketHistory.actor_id)
        .where(TicketHistory.ticket_id == ticket_id)
        .order_by(TicketHistory.created_at, TicketHistory.id)
        .limit(MAX_ROWS + 1)
    )
    return await reader.runner.all(statement)


async def _photo(storage: Storage, row: Any) -> Photo | None:
    data = await read_stored(storage, row.storage_key)
    if data is None:
        return None
    image = await asyncio.to_thread(printable, data)
    if image is None:
        return None
    return Photo(row.filename, row.created_at, row.uploaded_by_name, image)


async def load(reader: Reader, storage: Storage, ticket_id: uuid.UUID) -> WorkOrder:
    """The work order of a ticket the caller may read (404 otherwise)."""
    left_out: dict[str, int] = {}
    async with reader.sharing():
        ticket = await _ticket(reader, ticket_id)
        tasks = _capped(await _tasks(reader, ticket_id), "tasks", left_out)
        images = await _images(reader, ticket_id)
        parts = await _parts(reader, ticket_id)
        labour = _capped(await _labour(reader, ticket_id), "labour", left_out)
        history = _capped(await _history(reader, ticket_id), "history", left_out)
    signatures = [row for row in images if row.kind == "signature"]
    candidates = [row for row in images if row.kind != "signature"]
    photos = [photo for row in candidates[:MAX_PHOTOS] if (photo := await _photo(storage, row))]
    signature = await _photo(storage, signatures[-1]) if signatures else None
    return WorkOrder(
        ticket=ticket,
        client_name=ticket["wo_client_name"] or "",
        locale_name=ticket["wo_locale_name"] or "",
        locale_code=ticket["wo_locale_code"],
        timezone=ticket["wo_timezone"] or "America/Santiago",
        area_name=ticket["wo_area_name"],
        asset_name=ticket["wo_asset_name"],
        asset_code=ticket["wo_asset_code"],
        technician_name=ticket["wo_technician_name"],
        vendor_name=ticket["wo_vendor_name"],
        requester_name=ticket["wo_requester_name"],
        tasks=[
            TaskLine(
                label=row.label,
                kind=row.kind,
                is_done=row.is_done,
                passed=row.passed,
                value_number=row.value_number,
                value_text=row.value_text,
                min_value=row.min_value,
                max_value=row.max_value,
                completed_by=row.completed_by_name,
                completed_at=row.completed_at,
            )
            for row in tasks
        ],
        parts=parts,
        labour=[
            LabourLine(
                technician=row.technician_name,
                category=str(row.category),
                started_at=row.started_at,
                ended_at=row.ended_at,
                minutes=row.minutes,
                hourly_rate_minor=row.hourly_rate_minor,
                cost_minor=row.cost_minor,
                billable=row.billable,
            )
            for row in labour
        ],
        history=[
            HistoryLine(
                at=row.created_at,
                from_status=None if row.from_status is None else str(row.from_status),
                to_status=str(row.to_status),
                actor=row.actor_name,
                comment=row.comment or "",
            )
            for row in history
        ],
        photos=photos,
        signature=signature,
        photos_left_out=len(candidates) - len(photos),
        rows_left_out=left_out,
    )
