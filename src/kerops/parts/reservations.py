"""A ticket's reservations: stock held for it in a warehouse (the stock row's ``reserved``),
from the lines given or the parts list (BOM) of its asset; released when the ticket is
cancelled or the hold removed, consumed when the parts are issued (by hand, or every hold
still active when the ticket is completed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import AssetBOM
from kerops.core import access
from kerops.core.audit import AUDIT_CONTEXT_KEY
from kerops.core.enums import ReservationStatus, TicketStatus
from kerops.core.errors import Conflict, NotFound
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.inventory import ledger
from kerops.inventory.models import Product
from kerops.operations.models import ServiceTicket
from kerops.parts import service
from kerops.parts.models import StockReservation
from kerops.parts.schemas import ReservationCreate

RESERVATION_SORTS = {"created_at": StockReservation.created_at}


async def _lines(
    session: AsyncSession, ticket: ServiceTicket, data: ReservationCreate
) -> dict[uuid.UUID, Decimal]:
    """The quantity to hold of each product: the lines given (one product's lines added up),
    else the stocked parts of the ticket's asset's BOM (422 ``no_parts_list`` without any)."""
    wanted: dict[uuid.UUID, Decimal] = {}
    if data.lines is not None:
        for line in data.lines:
            wanted[line.product_id] = wanted.get(line.product_id, Decimal(0)) + line.quantity
        return wanted
    if ticket.asset_id is not None:
        bom = await session.execute(
            select(AssetBOM.product_id, AssetBOM.quantity)
            .join(Product, Product.id == AssetBOM.product_id)
            .where(AssetBOM.asset_id == ticket.asset_id, Product.is_stocked.is_(True))
            .order_by(AssetBOM.id)
        )
        for product_id, quantity in bom:
            if quantity > 0:
                wanted[product_id] = wanted.get(product_id, Decimal(0)) + Decimal(quantity)
    if not wanted:
        msg = gettext("give lines: the ticket's asset has no stocked parts in its parts list")
        raise service.refused("lines", msg, "no_parts_list")
    return wanted


async def reserve(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: ReservationCreate
) -> list[StockReservation]:
    """Hold parts for an open ticket in one warehouse, all or nothing: a line not available
    is a 409 ``insufficient_stock`` naming its product, and nothing is held."""
    ticket = await service.ticket_to_change(session, principal, ticket_id, open_only=True)
    warehouse = await service.warehouse_for(session, principal, ticket, data.warehouse_id)
    wanted = await _lines(session, ticket, data)
    found = await session.execute(
        access.scoped(select(Product).where(Product.id.in_(list(wanted))), Product, principal)
    )
    products = {product.id: product for product in found.scalars()}
    held: list[StockReservation] = []
    for index, (product_id, quantity) in enumerate(wanted.items()):
        product = products.get(product_id)
        if product is None:
            raise NotFound(access.not_found_detail(Product))
        service.check_product(product, ticket, quantity, f"lines.{index}.")
        try:
            await ledger.reserve(
                session, warehouse_id=warehouse.id, product_id=product_id, quantity=quantity
            )
        except Conflict as short:
            # The request fails as a whole: its session rolls back what was held before.
            raise Conflict(
                short.detail, code=short.code, product_id=str(product_id), **short.extra
            ) from None
        hold = StockReservation(
            client_id=ticket.client_id,
            ticket_id=ticket.id,
            warehouse_id=warehouse.id,
            product_id=product_id,
            quantity=quantity,
            status=ReservationStatus.active,
        )
        session.add(hold)
        held.append(hold)
    await session.flush()
    return held


async def list_reservations(
    reader: Reader,
    *,
    ticket_id: uuid.UUID,
    params: PageParams,
    status: ReservationStatus | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A ticket's reservations (404 when the ticket is out of reach)."""
    await reader.row(ServiceTicket, ticket_id)
    stmt = reader.rows(StockReservation).where(StockReservation.ticket_id == ticket_id)
    if status is not None:
        stmt = stmt.where(StockReservation.status == status)
    return await reader.page(
        stmt,
        params,
        sort_fields=RESERVATION_SORTS,
        id_column=StockReservation.id,
        default_sort="created_at",
    )


async def release_reservation(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    reservation_id: uuid.UUID,
) -> None:
    """Remove an active hold of a ticket (409 ``reservation_not_active`` once released or
    consumed)."""
    ticket = await service.ticket_to_change(session, principal, ticket_id, open_only=False)
    hold = await access.get_scoped(
        session, StockReservation, reservation_id, principal, for_update=True
    )
    if hold.ticket_id != ticket.id:
        raise NotFound(access.not_found_detail(StockReservation))
    if hold.status is not ReservationStatus.active:
        raise Conflict(
            gettext("This reservation is {status}.", status=hold.status),
            code="reservation_not_active",
        )
    await _release(session, [hold])
    await session.flush()


async def _release(session: AsyncSession, holds: Sequence[StockReservation]) -> None:
    for hold in holds:
        await ledger.release(
            session,
            warehouse_id=hold.warehouse_id,
            product_id=hold.product_id,
            quantity=hold.quantity,
        )
        hold.status = ReservationStatus.released


async def _active_holds(session: AsyncSession, ticket_id: uuid.UUID) -> list[StockReservation]:
    # Read without flushing the move under way: its changes are flushed with the rest of it.
    with session.no_autoflush:
        found = await session.execute(
            select(StockReservation)
            .where(
                StockReservation.ticket_id == ticket_id,
                StockReservation.status == ReservationStatus.active,
            )
            .order_by(StockReservation.id)
        )
    return list(found.scalars())


async def on_ticket_moved(session: AsyncSession, ticket: ServiceTicket) -> None:
    """A cancelled ticket gives back what it held; a completed one has it issued (its holds
    cover it, so it cannot fall short unless a hold was broken by hand: then the completion
    fails with the ledger's 409 ``insufficient_stock``)."""
    if ticket.status not in (TicketStatus.cancelled, TicketStatus.completed):
        return
    holds = await _active_holds(session, ticket.id)
    if not holds:
        return
    if ticket.status is TicketStatus.cancelled:
        await _release(session, holds)
        return
    context = session.info.get(AUDIT_CONTEXT_KEY)
    actor_id = context.actor_user_id if context is not None else None  # who completed it
    for hold in holds:
        await service.take_for_ticket(
            session,
            ticket=ticket,
            warehouse_id=hold.warehouse_id,
            product_id=hold.product_id,
            quantity=hold.quantity,
            actor_id=actor_id,
            held=[hold],
        )
    await service.refresh_parts_cost(session, ticket)
