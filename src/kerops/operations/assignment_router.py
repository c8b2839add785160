"""Assigning technicians to tickets, and the ranked candidates of a ticket."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from kerops.core.deps import PrincipalDep, SessionDep
from kerops.core.schemas import ApiDateTime
from kerops.operations import assignment, diagnosis_shown
from kerops.operations.assignment import AssignmentCreate, CandidateList
from kerops.operations.schemas import TicketRead

router = APIRouter(tags=["tickets"])

TICKET = "/tickets/{ticket_id}"


@router.post(f"{TICKET}/assign", response_model=TicketRead)
async def assign_ticket(
    ticket_id: uuid.UUID, body: AssignmentCreate, principal: PrincipalDep, session: SessionDep
) -> TicketRead:
    """Assign an eligible technician (the client's own, or a vendor's with ``vendor_id``); an
    open ticket moves to assigned."""
    ticket = await assignment.assign(session, principal=principal, ticket_id=ticket_id, data=body)
    return await diagnosis_shown.ticket_read(session, principal, ticket)


@router.get(f"{TICKET}/candidates", response_model=CandidateList)
async def list_candidates(
    ticket_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    at: ApiDateTime | None = None,
) -> CandidateList:
    """The technicians who might take the ticket at ``at`` (default: its planned time, else
    now): eligible first, then by fewest open tickets, then by name."""
    return await assignment.candidates(session, principal=principal, ticket_id=ticket_id, at=at)
