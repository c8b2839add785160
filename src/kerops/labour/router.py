"""Work logs (technicians' time on tickets, manual or by timer) and labour rates."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.enums import WorkLogCategory
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.labour import service
from kerops.labour.models import LabourRate, TicketWorkLog
from kerops.labour.schemas import (
    Instant,
    RateCreate,
    RateRead,
    RateUpdate,
    TimerStart,
    TimerStop,
    WorkLogCreate,
    WorkLogRead,
    WorkLogUpdate,
)

router = APIRouter(tags=["labour"])

TICKET_LOGS = "/tickets/{ticket_id}/work-logs"
LOGS = "/work-logs"
LOG = "/work-logs/{log_id}"
RATES = "/labour-rates"
RATE = "/labour-rates/{rate_id}"
LOG_DOCUMENT = Document(TicketWorkLog, WorkLogRead)
RATE_DOCUMENT = Document(LabourRate, RateRead)
LogPage = Annotated[PageParams, sorted_by(service.LOG_SORTS)]
RatePage = Annotated[PageParams, sorted_by(service.RATE_SORTS)]
StartedFrom = Annotated[
    Instant | None, Query(description="Started at or after this instant (inclusive)")
]
StartedTo = Annotated[Instant | None, Query(description="Started before this instant")]


# --- a ticket's logs -----------------------------------------------------------------------------


@router.get(TICKET_LOGS, response_model=Page[WorkLogRead])
async def list_ticket_work_logs(ticket_id: uuid.UUID, reader: ReaderDep, page: LogPage) -> Response:
    """A ticket's work logs (anyone who reads the ticket; sort: started_at, created_at)."""
    items, cursor = await service.list_ticket_logs(reader, ticket_id=ticket_id, params=page)
    return await reader.respond_page(LOG_DOCUMENT, items, cursor)


@router.post(TICKET_LOGS, response_model=WorkLogRead, status_code=status.HTTP_201_CREATED)
async def create_work_log(
    ticket_id: uuid.UUID, body: WorkLogCreate, principal: PrincipalDep, session: SessionDep
) -> TicketWorkLog:
    """Enter time on a ticket: ``started_at`` and ``ended_at`` or ``minutes`` (409
    ``work_log_overlap`` over another log of the technician)."""
    return await service.create_log(session, principal=principal, ticket_id=ticket_id, data=body)


@router.post(f"{TICKET_LOGS}/start", response_model=WorkLogRead, status_code=201)
async def start_work_log(
    ticket_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    body: TimerStart | None = None,
) -> TicketWorkLog:
    """Start a technician's timer on an open ticket (409 ``work_log_running`` while one of
    theirs runs anywhere, ``ticket_closed`` on a completed or cancelled ticket)."""
    data = body or TimerStart()
    return await service.start_timer(
        session,
        principal=principal,
        ticket_id=ticket_id,
        data=data,
    )


@router.post(f"{TICKET_LOGS}/stop", response_model=WorkLogRead)
async def stop_work_log(
    ticket_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    body: TimerStop | None = None,
) -> TicketWorkLog:
    """Stop a technician's timer on this ticket (409 ``work_log_not_running`` when none runs
    here): its minutes and cost are set, and the ticket's labour cost with them."""
    data = body or TimerStop()
    return await service.stop_timer(
        session,
        principal=principal,
        ticket_id=ticket_id,
        data=data,
    )


# --- every log -----------------------------------------------------------------------------------


@router.get(LOGS, response_model=Page[WorkLogRead])
async def list_work_logs(
    reader: ReaderDep,
    page: LogPage,
    technician_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    locale_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    category: WorkLogCategory | None = None,
    billable: bool | None = None,
    running: Annotated[bool | None, Query(description="true: timers still running")] = None,
    started_from: StartedFrom = None,
    started_to: StartedTo = None,
) -> Response:
    """The work logs you read (sort: started_at, default newest first; created_at)."""
    items, cursor = await service.list_logs(
        reader,
        params=page,
        technician_id=technician_id,
        ticket_id=ticket_id,
        locale_id=locale_id,
        vendor_id=vendor_id,
        category=category,
        billable=billable,
        running=running,
        started_from=started_from,
        started_to=started_to,
    )
    return await reader.respond_page(LOG_DOCUMENT, items, cursor)


@router.get(LOG, response_model=WorkLogRead)
async def get_work_log(log_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One work log."""
    return await reader.respond(LOG_DOCUMENT, log_id)


@router.patch(LOG, response_model=WorkLogRead)
async def update_work_log(
    log_id: uuid.UUID, body: WorkLogUpdate, principal: PrincipalDep, session: SessionDep
) -> TicketWorkLog:
    """Change a log (its technician within 24 hours of its end, managers any time)."""
    return await service.update_log(session, principal=principal, log_id=log_id, data=body)


@router.delete(LOG, status_code=status.HTTP_204_NO_CONTENT)
async def delete_work_log(log_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    """Delete a log (as it would be changed); the ticket's labour cost drops by its cost."""
    await service.delete_log(session, principal=principal, log_id=log_id)


# --- rates ---------------------------------------------------------------------------------------


@router.post(RATES, response_model=RateRead, status_code=status.HTTP_201_CREATED)
async def create_labour_rate(
    body: RateCreate, principal: PrincipalDep, session: SessionDep
) -> LabourRate:
    """Set a technician's hourly rate or a vendor's rate card line (409
    ``labour_rate_exists`` for a second line of one holder and category)."""
    return await service.create_rate(session, principal=principal, data=body)


@router.get(RATES, response_model=Page[RateRead])
async def list_labour_rates(
    reader: ReaderDep,
    page: RatePage,
    technician_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    category: WorkLogCategory | None = None,
) -> Response:
    """The labour rates you read (sort: created_at)."""
    items, cursor = await service.list_rates(
        reader, params=page, technician_id=technician_id, vendor_id=vendor_id, category=category
    )
    return await reader.respond_page(RATE_DOCUMENT, items, cursor)


@router.get(RATE, response_model=RateRead)
async def get_labour_rate(rate_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One labour rate."""
    return await reader.respond(RATE_DOCUMENT, rate_id)


@router.patch(RATE, response_model=RateRead)
async def update_labour_rate(
    rate_id: uuid.UUID, body: RateUpdate, principal: PrincipalDep, session: SessionDep
) -> LabourRate:
    """Change a rate (logs already costed keep theirs)."""
    return await service.update_rate(session, principal=principal, rate_id=rate_id, data=body)


@router.delete(RATE, status_code=status.HTTP_204_NO_CONTENT)
async def delete_labour_rate(
    rate_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete a rate."""
    await service.delete_rate(session, principal=principal, rate_id=rate_id)
