"""Workflows with their steps, and service tickets with transitions, history and comments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.enums import TicketPriority, TicketStatus
from kerops.core.filtering import UpdatedSince
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.schemas import ApiDateTime
from kerops.customfields.router import FieldFilters
from kerops.operations import (
    diagnosis_shown,
    history,
    intake,
    ticket_list,
    tickets,
    transitions,
    workflows,
)
from kerops.operations.models import ServiceTicket, TicketComment, Workflow, WorkflowStep
from kerops.operations.schemas import (
    CommentCreate,
    CommentRead,
    HistoryRead,
    StepCreate,
    StepRead,
    StepUpdate,
    TicketCreate,
    TicketRead,
    TicketUpdate,
    TransitionCreate,
    WorkflowCreate,
    WorkflowRead,
    WorkflowUpdate,
)

workflows_router = APIRouter(tags=["workflows"])
tickets_router = APIRouter(tags=["tickets"])

WorkflowPage = Annotated[PageParams, sorted_by(workflows.WORKFLOW_SORTS)]
StepPage = Annotated[PageParams, sorted_by(workflows.STEP_SORTS)]
TicketPage = Annotated[PageParams, sorted_by(ticket_list.ALL_TICKET_SORTS)]
HistoryPage = Annotated[PageParams, sorted_by(history.HISTORY_SORTS)]
CommentPage = Annotated[PageParams, sorted_by(history.COMMENT_SORTS)]

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]

WORKFLOW = "/workflows/{workflow_id}"
STEPS = f"{WORKFLOW}/steps"
STEP = f"{STEPS}/{{step_id}}"
TICKET = "/tickets/{ticket_id}"
WORKFLOW_DOCUMENT = Document(Workflow, WorkflowRead)
TICKET_DOCUMENT = Document(ServiceTicket, TicketRead, shown=diagnosis_shown.shown_rows)


def _page(items: Sequence[object], cursor: str | None) -> dict[str, object]:
    return {"items": items, "next_cursor": cursor}


# --- workflows -----------------------------------------------------------------------------------


@workflows_router.post(
    "/workflows", response_model=WorkflowRead, status_code=status.HTTP_201_CREATED
)
async def create_workflow(
    body: WorkflowCreate, principal: PrincipalDep, session: SessionDep
) -> Workflow:
    """Create a workflow (the client's owner, or platform staff naming the client)."""
    return await workflows.create_workflow(session, principal=principal, data=body)


@workflows_router.get("/workflows", response_model=Page[WorkflowRead])
async def list_workflows(
    reader: ReaderDep,
    page: WorkflowPage,
    q: TextFilter = None,
    is_default: bool | None = None,
    is_active: bool | None = None,
) -> Response:
    """The workflows of the caller's client (sort: name, created_at)."""
    items, cursor = await workflows.list_workflows(
        reader,
        params=page,
        q=q,
        is_default=is_default,
        is_active=is_active,
    )
    return await reader.respond_page(WORKFLOW_DOCUMENT, items, cursor)


@workflows_router.get(WORKFLOW, response_model=WorkflowRead)
async def get_workflow(workflow_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One workflow."""
    return await reader.respond(WORKFLOW_DOCUMENT, workflow_id)


@workflows_router.patch(WORKFLOW, response_model=WorkflowRead)
async def update_workflow(
    workflow_id: uuid.UUID, body: WorkflowUpdate, principal: PrincipalDep, session: SessionDep
) -> Workflow:
    """Change a workflow; ``is_default: true`` makes it the client's only default."""
    return await workflows.update_workflow(
        session, principal=principal, workflow_id=workflow_id, data=body
    )


@workflows_router.delete(WORKFLOW, status_code=status.HTTP_204_NO_CONTENT)
async def delete_workflow(
    workflow_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete a workflow that is not the default and that no ticket uses."""
    await workflows.delete_workflow(session, principal=principal, workflow_id=workflow_id)


@workflows_router.post(STEPS, response_model=StepRead, status_code=status.HTTP_201_CREATED)
async def create_step(
    workflow_id: uuid.UUID, body: StepCreate, principal: PrincipalDep, session: SessionDep
) -> WorkflowStep:
    """Add an allowed move (from_status → to_status) to a workflow."""
    return await workflows.create_step(
        session, principal=principal, workflow_id=workflow_id, data=body
    )


@workflows_router.get(STEPS, response_model=Page[StepRead])
async def list_steps(
    workflow_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    page: StepPage,
    from_status: TicketStatus | None = None,
    to_status: TicketStatus | None = None,
) -> dict[str, object]:
    """A workflow's steps (sort: position, created_at)."""
    items, cursor = await workflows.list_steps(
        session,
        principal=principal,
        workflow_id=workflow_id,
        params=page,
        from_status=from_status,
        to_status=to_status,
    )
    return _page(items, cursor)


@workflows_router.get(STEP, response_model=StepRead)
async def get_step(
    workflow_id: uuid.UUID, step_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> WorkflowStep:
    """One step of a workflow."""
    return await workflows.get_step(
        session, principal=principal, workflow_id=workflow_id, step_id=step_id
    )


@workflows_router.patch(STEP, response_model=StepRead)
async def update_step(
    workflow_id: uuid.UUID,
    step_id: uuid.UUID,
    body: StepUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> WorkflowStep:
    """Change a step: its move, who may take it, what it requires."""
    return await workflows.update_step(
        session, principal=principal, workflow_id=workflow_id, step_id=step_id, data=body
    )


@workflows_router.delete(STEP, status_code=status.HTTP_204_NO_CONTENT)
async def delete_step(
    workflow_id: uuid.UUID, step_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Remove a step from a workflow."""
    await workflows.delete_step(
        session, principal=principal, workflow_id=workflow_id, step_id=step_id
    )


# --- tickets -------------------------------------------------------------------------------------


@tickets_router.post("/tickets", response_model=TicketRead, status_code=status.HTTP_201_CREATED)
async def create_ticket(
    body: TicketCreate, principal: PrincipalDep, session: SessionDep
) -> TicketRead:
    """Raise a ticket (the client's owner, or a manager or requester of the locale)."""
    ticket = await intake.create_ticket(session, principal=principal, data=body)
    return await diagnosis_shown.ticket_read(session, principal, ticket)


@tickets_router.get("/tickets", response_model=Page[TicketRead])
async def list_tickets(
    reader: ReaderDep,
    page: TicketPage,
    status: Annotated[list[TicketStatus] | None, Query(max_length=12)] = None,
    priority: TicketPriority | None = None,
    locale_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    requester_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    overdue: Annotated[
        bool | None, Query(description="true: past the resolution deadline and still open")
    ] = None,
    sla_breached: Annotated[
        bool | None, Query(description="true: the response or resolution target was breached")
    ] = None,
    sla_warned: Annotated[
        bool | None, Query(description="true: an SLA warning was raised for the ticket")
    ] = None,
    created_from: ApiDateTime | None = None,
    created_to: ApiDateTime | None = None,
    updated_since: UpdatedSince = None,
    q: TextFilter = None,
    field: FieldFilters = None,
) -> Response:
    """The tickets the caller can see (sort: created_at, priority, number, sla_resolution_due_at;
    default -created_at; ``field``: custom fields)."""
    async with reader.sharing():  # the page and its diagnoses' citations: one connection
        items, cursor = await ticket_list.list_tickets(
            reader,
            params=page,
            status=status,
            priority=priority,
            locale_id=locale_id,
            asset_id=asset_id,
            technician_id=technician_id,
            requester_id=requester_id,
            vendor_id=vendor_id,
            overdue=overdue,
            sla_breached=sla_breached,
            sla_warned=sla_warned,
            created_from=created_from,
            created_to=created_to,
            updated_since=updated_since,
            q=q,
            fields=field,
        )
        return await reader.respond_page(TICKET_DOCUMENT, items, cursor)


@tickets_router.get(TICKET, response_model=TicketRead)
async def get_ticket(ticket_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One ticket."""
    return await reader.respond(TICKET_DOCUMENT, ticket_id)


@tickets_router.patch(TICKET, response_model=TicketRead)
async def update_ticket(
    ticket_id: uuid.UUID, body: TicketUpdate, principal: PrincipalDep, session: SessionDep
) -> TicketRead:
    """Change a ticket's details (owner or locale manager); the status moves by transitions."""
    ticket = await tickets.update_ticket(
        session, principal=principal, ticket_id=ticket_id, data=body
    )
    return await diagnosis_shown.ticket_read(session, principal, ticket)


@tickets_router.post(f"{TICKET}/transitions", response_model=TicketRead)
async def transition_ticket(
    ticket_id: uuid.UUID, body: TransitionCreate, principal: PrincipalDep, session: SessionDep
) -> TicketRead:
    """Move a ticket to another status along its workflow (the only way to change a status)."""
    ticket = await transitions.transition(
        session, principal=principal, ticket_id=ticket_id, data=body
    )
    return await diagnosis_shown.ticket_read(session, principal, ticket)


@tickets_router.get(f"{TICKET}/history", response_model=Page[HistoryRead])
async def list_history(
    ticket_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, page: HistoryPage
) -> dict[str, object]:
    """A ticket's status moves, oldest first (sort: created_at)."""
    items, cursor = await history.list_history(
        session, principal=principal, ticket_id=ticket_id, params=page
    )
    return _page(items, cursor)


@tickets_router.post(
    f"{TICKET}/comments", response_model=CommentRead, status_code=status.HTTP_201_CREATED
)
async def add_comment(
    ticket_id: uuid.UUID, body: CommentCreate, principal: PrincipalDep, session: SessionDep
) -> TicketComment:
    """Comment on a ticket (anyone who can read it)."""
    return await history.add_comment(
        session, principal=principal, ticket_id=ticket_id, body=body.body
    )


@tickets_router.get(f"{TICKET}/comments", response_model=Page[CommentRead])
async def list_comments(
    ticket_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, page: CommentPage
) -> dict[str, object]:
    """A ticket's comments, oldest first (sort: created_at)."""
    items, cursor = await history.list_comments(
        session, principal=principal, ticket_id=ticket_id, params=page
    )
    return _page(items, cursor)
