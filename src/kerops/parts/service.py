"""Parts on tickets: issuing parts from a warehouse onto a ticket, returning the unused ones,
and the ticket's parts cost, which follows the ledger.

A part is issued from a warehouse the caller reads onto a ticket the caller may change (the
assigned technician, the client's owner and admins, a manager of its locale): by default from
the active van of the ticket's technician. An issue first takes what the ticket holds of that
product in that warehouse (its reservations), then what is available. The ticket's row is
locked while its parts move, so its parts cost, the sum of its movements' values, is written
by one request at a time.

Each movement is valued half up to the minor unit from thousandths: ``(q * unit_cost + 500)
// 1000`` with ``q`` the quantity in thousandths; the ticket's parts cost is the value of its
issues minus that of its returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import (
    MovementDocument,
    MovementKind,
    ReservationStatus,
    TicketStatus,
    WarehouseKind,
)
from kerops.core.errors import Conflict, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import quantity_from_stored, quantity_to_stored, thousandths_to_minor
from kerops.inventory import ledger
from kerops.inventory.models import InventoryMovement, Product, Warehouse
from kerops.inventory.units import fits
from kerops.operations.models import ServiceTicket
from kerops.parts.models import StockReservation
from kerops.parts.schemas import (
    PartIssue,
    PartMovementRead,
    PartReturn,
    PartUsageLine,
    TicketPartsRead,
)

#: A ticket in one of these states takes no more parts (its unused parts may still return).
CLOSED_STATES = (TicketStatus.completed, TicketStatus.cancelled)
#: The movements that make a ticket's parts cost.
PART_KINDS = (MovementKind.issue, MovementKind.return_)
K = TypeVar("K")


def movement_value(stored: int, unit_cost_minor: int) -> int:
    """What a movement of a ticket's parts adds to its cost: an issue (negative thousandths)
    adds, a return takes away; half up to the minor unit."""
    value = thousandths_to_minor(abs(stored) * unit_cost_minor)
    return value if stored < 0 else -value


async def ticket_to_change(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, *, open_only: bool
) -> ServiceTicket:
    """Lock a ticket whose parts the caller moves (404 out of reach, 403 read only); with
    ``open_only``, a completed or cancelled ticket is a 409."""
    ticket = await access.get_for_write(
        session, ServiceTicket, ticket_id, principal, for_update=True
    )
    if open_only and ticket.status in CLOSED_STATES:
        raise Conflict(
            gettext("The ticket is {status}; it takes no more parts.", status=ticket.status),
            code="ticket_closed",
        )
    return ticket


def refused(field: str, msg: str, code: str) -> Unprocessable:
    """A 422 whose code is that of its one field error (``field``: dotted, e.g. ``lines.0``)."""
    loc = ("body", *(int(part) if part.isdigit() else part for part in field.split(".")))
    return Unprocessable(msg, code=code, errors=[field_error(loc, msg, code)])


def _no_warehouse() -> Unprocessable:
    msg = gettext("name a warehouse: the ticket's technician has no active van you can use")
    return refused("warehouse_id", msg, "no_warehouse")


def _check_warehouse(warehouse: Warehouse, ticket: ServiceTicket) -> Warehouse:
    if warehouse.client_id != ticket.client_id:
        raise NotFound(access.not_found_detail(Warehouse))
    if not warehouse.is_active:
        raise refused(
            "warehouse_id",
            gettext("parts cannot move in an inactive warehouse"),
            "warehouse_inactive",
        )
    return warehouse


async def warehouse_for(
    session: AsyncSession,
    principal: Principal,
    ticket: ServiceTicket,
    warehouse_id: uuid.UUID | None,
) -> Warehouse:
    """The warehouse parts of ``ticket`` move in: the one named (which the caller must read),
    else the active van of the ticket's technician, if the caller reads it (422 otherwise)."""
    if warehouse_id is not None:
        found = await access.get_scoped(session, Warehouse, warehouse_id, principal)
        return _check_warehouse(found, ticket)
    if ticket.technician_id is None:
        raise _no_warehouse()
    stmt = (
        select(Warehouse)
        .where(
            Warehouse.client_id == ticket.client_id,
            Warehouse.kind == WarehouseKind.van,
            Warehouse.technician_id == ticket.technician_id,
            Warehouse.is_active.is_(True),
        )
        .order_by(Warehouse.code)
        .limit(1)
    )
    van: Warehouse | None = (
        await session.execute(access.scoped(stmt, Warehouse, principal))
    ).scalar()
    if van is None:
        raise _no_warehouse()
    return van


def check_product(
    product: Product, ticket: ServiceTicket, quantity: Decimal, line: str = ""
) -> Product:
    """A product the ticket may take ``quantity`` of: the client's or KER's, kept in stock,
    and a quantity its unit allows (``line``: where the body names it, e.g. ``lines.0.``)."""
    loc, quantity_loc = f"{line}product_id", f"{line}quantity"
    if product.client_id not in (None, ticket.client_id):
        raise NotFound(access.not_found_detail(Product))
    if not product.is_stocked:
        raise refused(
            loc, gettext("a product not kept in stock cannot go on a ticket"), "not_stocked"
        )
    if not fits(quantity, product.unit):
        msg = gettext("the product's unit ('{unit}') allows fewer decimals", unit=product.unit)
        raise refused(quantity_loc, msg, "too_many_decimals")
    return product


async def _product(
    session: AsyncSession,
    principal: Principal,
    ticket: ServiceTicket,
    product_id: uuid.UUID,
    quantity: Decimal,
) -> Product:
    product = await access.get_scoped(session, Product, product_id, principal)
    return check_product(product, ticket, quantity)


async def refresh_parts_cost(session: AsyncSession, ticket: ServiceTicket) -> int:
    """Set the ticket's parts cost to the value of its issues minus that of its returns."""
    # The ledger's rows are written by Core statements already sent: no flush is needed to
    # read them (the ORM's changes are flushed together afterwards, one audit INSERT).
    with session.no_autoflush:
        rows = await session.execute(
            select(InventoryMovement.quantity, InventoryMovement.unit_cost_minor).where(
                InventoryMovement.document_kind == MovementDocument.ticket,
                InventoryMovement.document_id == ticket.id,
                InventoryMovement.kind.in_(PART_KINDS),
            )
        )
    total = sum(movement_value(quantity_to_stored(q), cost) for q, cost in rows)
    if ticket.parts_cost_minor != total:
        ticket.parts_cost_minor = total
    return total


async def take_for_ticket(
    session: AsyncSession,
    *,
    ticket: ServiceTicket,
    warehouse_id: uuid.UUID,
    product_id: uuid.UUID,
    quantity: Decimal,
    actor_id: uuid.UUID | None,
    held: Iterable[StockReservation],
) -> ledger.Moved:
    """Issue ``quantity`` onto the ticket, out of its ``held`` reservations first (each
    consumed, or reduced by what it gave), then out of what is available."""
    holds = list(held)
    from_reserved = min(quantity, sum((r.quantity for r in holds), Decimal(0)))
    moved = await ledger.move(
        session,
        client_id=ticket.client_id,
        warehouse_id=warehouse_id,
        product_id=product_id,
        kind=MovementKind.issue,
        quantity=-quantity,
        document_kind=MovementDocument.ticket,
        document_id=ticket.id,
        actor_id=actor_id,
        from_reserved=from_reserved,
    )
    left = from_reserved
    for hold in holds:
        if left <= 0:
            break
        taken = min(hold.quantity, left)
        left -= taken
        if taken == hold.quantity:
            hold.status = ReservationStatus.consumed
        else:
            hold.quantity -= taken
    return moved


async def issue_part(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: PartIssue
) -> PartMovementRead:
    """Issue parts onto an open ticket from a warehouse (409 ``insufficient_stock`` when not
    that much is available, held for the ticket included)."""
    ticket = await ticket_to_change(session, principal, ticket_id, open_only=True)
    warehouse = await warehouse_for(session, principal, ticket, data.warehouse_id)
    product = await _product(session, principal, ticket, data.product_id, data.quantity)
    held = await session.execute(
        select(StockReservation)
        .where(
            StockReservation.ticket_id == ticket.id,
            StockReservation.warehouse_id == warehouse.id,
            StockReservation.product_id == product.id,
            StockReservation.status == ReservationStatus.active,
        )
        .order_by(StockReservation.id)
    )
    moved = await take_for_ticket(
        session,
        ticket=ticket,
        warehouse_id=warehouse.id,
        product_id=product.id,
        quantity=data.quantity,
        actor_id=principal.user_id,
        held=held.scalars(),
    )
    cost = await refresh_parts_cost(session, ticket)
    await session.flush()
    return _answer(
        ticket, warehouse.id, product.id, MovementKind.issue, -data.quantity, moved, cost
    )


def _answer(
    ticket: ServiceTicket,
    warehouse_id: uuid.UUID,
    product_id: uuid.UUID,
    kind: MovementKind,
    quantity: Decimal,
    moved: ledger.Moved,
    parts_cost: int,
) -> PartMovementRead:
    value = movement_value(quantity_to_stored(quantity), moved.unit_cost_minor)
    return PartMovementRead(
        movement_id=moved.movement_id,
        ticket_id=ticket.id,
        warehouse_id=warehouse_id,
        product_id=product_id,
        kind=kind,
        quantity=abs(quantity),
        unit_cost_minor=moved.unit_cost_minor,
        total_cost_minor=abs(value),
        parts_cost_minor=parts_cost,
    )


async def return_part(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: PartReturn
) -> PartMovementRead:
    """Give back unused parts of a ticket (in any state: a cancelled ticket's parts come
    back too), valued at what they were issued at; never more than was issued and not
    returned (409 ``return_exceeds_issued``)."""
    ticket = await ticket_to_change(session, principal, ticket_id, open_only=False)
    product = await _product(session, principal, ticket, data.product_id, data.quantity)
    rows = (
        await session.execute(
            select(
                InventoryMovement.warehouse_id,
                InventoryMovement.kind,
                InventoryMovement.quantity,
                InventoryMovement.unit_cost_minor,
            )
            .where(
                InventoryMovement.document_kind == MovementDocument.ticket,
                InventoryMovement.document_id == ticket.id,
                InventoryMovement.product_id == product.id,
                InventoryMovement.kind.in_(PART_KINDS),
            )
            .order_by(InventoryMovement.id)
        )
    ).all()
    issued = returned = issued_value = 0  # thousandths; value in thousandths of a minor unit
    last_from: uuid.UUID | None = None
    for warehouse_id, kind, quantity, unit_cost in rows:
        stored = quantity_to_stored(quantity)
        if kind is MovementKind.issue:
            issued -= stored
            issued_value -= stored * unit_cost
            last_from = warehouse_id
        else:
            returned += stored
    wanted = quantity_to_stored(data.quantity)
    if last_from is None or wanted > issued - returned:
        raise Conflict(
            gettext(
                "Only {outstanding} of this product was issued to the ticket and not returned.",
                outstanding=format(quantity_from_stored(issued - returned), "f"),
            ),
            code="return_exceeds_issued",
            issued=format(quantity_from_stored(issued), "f"),
            returned=format(quantity_from_stored(returned), "f"),
        )
    if data.warehouse_id is not None:
        found = await access.get_scoped(session, Warehouse, data.warehouse_id, principal)
        warehouse_id = _check_warehouse(found, ticket).id
    else:
        warehouse_id = last_from  # where they came from (the ticket's write right suffices)
    # The average unit cost of what was issued, half up: a full return gives back its value.
    unit_cost = (issued_value + issued // 2) // issued
    moved = await ledger.move(
        session,
        client_id=ticket.client_id,
        warehouse_id=warehouse_id,
        product_id=product.id,
        kind=MovementKind.return_,
        quantity=data.quantity,
        document_kind=MovementDocument.ticket,
        document_id=ticket.id,
        actor_id=principal.user_id,
        unit_cost_minor=unit_cost,
    )
    cost = await refresh_parts_cost(session, ticket)
    await session.flush()
    return _answer(
        ticket, warehouse_id, product.id, MovementKind.return_, data.quantity, moved, cost
    )


def part_movements(reader: Reader, ticket_id: uuid.UUID) -> Select[Any]:
    """A ticket's issues and returns the caller reads (through the rule that lets readers of a
    ticket read them), oldest first: the base of what the ticket used."""
    return (
        reader.rows(InventoryMovement)
        .where(
            InventoryMovement.document_kind == MovementDocument.ticket,
            InventoryMovement.document_id == ticket_id,
            InventoryMovement.kind.in_(PART_KINDS),
        )
        .order_by(InventoryMovement.id)
    )


def add_up(rows: Iterable[Any], key: Callable[[Any], K]) -> dict[K, tuple[int, int, int]]:
    """``part_movements``' rows added up per ``key``: the stored quantity issued, the stored
    quantity returned, and the value of the net use (issues minus returns, each at its cost)."""
    usage: dict[K, list[int]] = {}
    for row in rows:
        line = usage.setdefault(key(row), [0, 0, 0])
        stored = quantity_to_stored(row.quantity)
        line[0 if stored < 0 else 1] += abs(stored)
        line[2] += movement_value(stored, row.unit_cost_minor)
    return {k: (issued, returned, value) for k, (issued, returned, value) in usage.items()}


async def ticket_parts(reader: Reader, *, ticket_id: uuid.UUID) -> TicketPartsRead:
    """What a ticket used, per product and warehouse, with its cost (whoever reads the ticket)."""
    async with reader.sharing():
        ticket = await reader.row(ServiceTicket, ticket_id)
        rows = await reader.runner.all(part_movements(reader, ticket_id))
    usage = add_up(rows, lambda row: (row.product_id, row.warehouse_id))
    lines = [
        PartUsageLine(
            product_id=product_id,
            warehouse_id=warehouse_id,
            issued=quantity_from_stored(issued),
            returned=quantity_from_stored(returned),
            net=quantity_from_stored(issued - returned),
            cost_minor=value,
        )
        for (product_id, warehouse_id), (issued, returned, value) in usage.items()
    ]
    return TicketPartsRead(
        ticket_id=ticket_id,
        currency=ticket["currency"],
        lines=lines,
        total_cost_minor=sum(line.cost_minor for line in lines),
    )
