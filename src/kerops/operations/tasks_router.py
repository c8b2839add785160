"""A ticket's checklist: list, add, change, remove and complete its tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from kerops.core.deps import PrincipalDep, SessionDep
from kerops.core.filtering import UpdatedSince
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.operations import diagnosis_shown, tasks
from kerops.operations.models import TicketTask
from kerops.operations.tasks_schemas import (
    TaskComplete,
    TaskCompletionRead,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)

router = APIRouter(tags=["tickets"])

TaskPage = Annotated[PageParams, sorted_by(tasks.TASK_SORTS)]

TASKS = "/tickets/{ticket_id}/tasks"
TASK = f"{TASKS}/{{task_id}}"


@router.get(TASKS, response_model=Page[TaskRead])
async def list_tasks(
    ticket_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    page: TaskPage,
    updated_since: UpdatedSince = None,
) -> dict[str, object]:
    """A ticket's checklist (anyone who can read the ticket; sort: position)."""
    items, cursor = await tasks.list_tasks(
        session,
        principal=principal,
        ticket_id=ticket_id,
        params=page,
        updated_since=updated_since,
    )
    return {"items": items, "next_cursor": cursor}


@router.post(TASKS, response_model=TaskRead, status_code=status.HTTP_201_CREATED)
async def create_task(
    ticket_id: uuid.UUID, body: TaskCreate, principal: PrincipalDep, session: SessionDep
) -> TicketTask:
    """Add a checklist item (the client's owner or a manager of the locale)."""
    return await tasks.create_task(session, principal=principal, ticket_id=ticket_id, data=body)


@router.patch(TASK, response_model=TaskRead)
async def update_task(
    ticket_id: uuid.UUID,
    task_id: uuid.UUID,
    body: TaskUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> TicketTask:
    """Change a task's label, limits or position (owner or locale manager)."""
    return await tasks.update_task(
        session, principal=principal, ticket_id=ticket_id, task_id=task_id, data=body
    )


@router.delete(TASK, status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(
    ticket_id: uuid.UUID, task_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Remove a checklist item (owner or locale manager)."""
    await tasks.delete_task(session, principal=principal, ticket_id=ticket_id, task_id=task_id)


@router.post(f"{TASK}/complete", response_model=TaskCompletionRead)
async def complete_task(
    ticket_id: uuid.UUID,
    task_id: uuid.UUID,
    body: TaskComplete,
    principal: PrincipalDep,
    session: SessionDep,
) -> TaskCompletionRead:
    """Record a task's value (owner, locale manager, assigned technician); a failed item may open
    a follow-up ticket (``open_follow_up: true``, owner or locale manager)."""
    task, follow_up = await tasks.complete_task(
        session, principal=principal, ticket_id=ticket_id, task_id=task_id, data=body
    )
    read = TaskRead.model_validate(task).model_dump()
    ticket = None
    if follow_up is not None:
        ticket = await diagnosis_shown.ticket_read(session, principal, follow_up)
    return TaskCompletionRead(**read, follow_up_ticket=ticket)
