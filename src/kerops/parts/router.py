"""Parts on tickets: issue and return parts, what a ticket used, and its reservations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.enums import ReservationStatus
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.parts import reservations, service
from kerops.parts.models import StockReservation
from kerops.parts.schemas import (
    PartIssue,
    PartMovementRead,
    PartReturn,
    ReservationCreate,
    ReservationRead,
    TicketPartsRead,
)

router = APIRouter(tags=["tickets"])

PARTS = "/tickets/{ticket_id}/parts"
RESERVATIONS = "/tickets/{ticket_id}/reservations"
ReservationPage = Annotated[PageParams, sorted_by(reservations.RESERVATION_SORTS)]
RESERVATION_DOCUMENT = Document(StockReservation, ReservationRead)


@router.post(PARTS, response_model=PartMovementRead, status_code=status.HTTP_201_CREATED)
async def issue_part(
    ticket_id: uuid.UUID, body: PartIssue, principal: PrincipalDep, session: SessionDep
) -> PartMovementRead:
    """Issue parts onto an open ticket from a warehouse the caller reads (by default the
    assigned technician's van); the ticket's holds of that part are used first."""
    return await service.issue_part(session, principal=principal, ticket_id=ticket_id, data=body)


@router.get(PARTS, response_model=TicketPartsRead)
async def list_ticket_parts(ticket_id: uuid.UUID, reader: ReaderDep) -> TicketPartsRead:
    """What a ticket used, per product and warehouse, with its cost (anyone who reads it)."""
    return await service.ticket_parts(reader, ticket_id=ticket_id)


@router.post(f"{PARTS}/returns", response_model=PartMovementRead, status_code=201)
async def return_part(
    ticket_id: uuid.UUID, body: PartReturn, principal: PrincipalDep, session: SessionDep
) -> PartMovementRead:
    """Give back unused parts of a ticket, at the cost they were issued at."""
    return await service.return_part(session, principal=principal, ticket_id=ticket_id, data=body)


@router.post(RESERVATIONS, response_model=list[ReservationRead], status_code=201)
async def create_reservations(
    ticket_id: uuid.UUID, body: ReservationCreate, principal: PrincipalDep, session: SessionDep
) -> list[StockReservation]:
    """Hold parts for an open ticket (the lines given, or its asset's parts list), all or
    nothing."""
    return await reservations.reserve(session, principal=principal, ticket_id=ticket_id, data=body)


@router.get(RESERVATIONS, response_model=Page[ReservationRead])
async def list_reservations(
    ticket_id: uuid.UUID,
    reader: ReaderDep,
    page: ReservationPage,
    status: ReservationStatus | None = None,
) -> Response:
    """A ticket's reservations (anyone who reads the ticket; sort: created_at)."""
    async with reader.sharing():  # the ticket and the page: one connection
        items, cursor = await reservations.list_reservations(
            reader, ticket_id=ticket_id, params=page, status=status
        )
    return await reader.respond_page(RESERVATION_DOCUMENT, items, cursor)


@router.delete(f"{RESERVATIONS}/{{reservation_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def release_reservation(
    ticket_id: uuid.UUID, reservation_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Release an active hold of a ticket."""
    await reservations.release_reservation(
        session, principal=principal, ticket_id=ticket_id, reservation_id=reservation_id
    )
