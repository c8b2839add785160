"""Rules of a ticket's checklist: who manages and completes tasks, values, follow-up tickets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access, formats
from kerops.core.enums import TicketStatus
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.types import utcnow
from kerops.operations import intake
from kerops.operations.actors import actor_kinds
from kerops.operations.models import ServiceTicket, TicketTask
from kerops.operations.schemas import StepRole, TicketCreate, ticket_code
from kerops.operations.tasks_schemas import TaskComplete, TaskCreate, TaskKind, TaskUpdate
from kerops.users.clients import language_of_client

TASK_SORTS = {"position": TicketTask.position}
#: A ticket in one of these states is closed: its checklist no longer changes.
FINAL_STATES = (TicketStatus.completed, TicketStatus.cancelled)
MANAGERS = {StepRole.staff, StepRole.owner, StepRole.manager}
WORKERS = MANAGERS | {StepRole.technician}


async def _ticket_to_change(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, roles: set[StepRole]
) -> tuple[ServiceTicket, set[StepRole]]:
    """Lock a ticket whose checklist the caller changes in one of ``roles``; open tickets only."""
    ticket = await access.get_for_write(
        session, ServiceTicket, ticket_id, principal, for_update=True
    )
    kinds = await actor_kinds(session, principal, ticket)
    if not kinds & roles:
        raise Forbidden(gettext("You may not change this ticket's checklist."))
    if ticket.status in FINAL_STATES:
        raise Conflict(
            gettext(
                "The ticket is {status}; its checklist can no longer change.", status=ticket.status
            ),
            code="ticket_closed",
        )
    return ticket, kinds


async def _task_of(
    session: AsyncSession, principal: Principal, ticket: ServiceTicket, task_id: uuid.UUID
) -> TicketTask:
    task = await access.get_scoped(session, TicketTask, task_id, principal, for_update=True)
    if task.ticket_id != ticket.id:
        raise NotFound(gettext("ticket task not found"))
    return task


def _limit_error(msg: str, type_: str = "limits_invalid") -> Unprocessable:
    return Unprocessable(msg, errors=[field_error(("body", "min_value"), msg, type_)])


def _within(task: TicketTask, value: float) -> bool:
    low_ok = task.min_value is None or value >= task.min_value
    high_ok = task.max_value is None or value <= task.max_value
    return low_ok and high_ok


async def list_tasks(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    params: PageParams,
    updated_since: datetime | None = None,
) -> tuple[Sequence[TicketTask], str | None]:
    """One page of a ticket's checklist, by position."""
    await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    stmt = access.scoped(select(TicketTask), TicketTask, principal).where(
        TicketTask.ticket_id == ticket_id
    )
    if updated_since is not None:
        stmt = stmt.where(TicketTask.updated_at >= updated_since)
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=TASK_SORTS,
        id_column=TicketTask.id,
        default_sort="position",
    )


async def create_task(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: TaskCreate
) -> TicketTask:
    """Add a checklist item (the client's owner or a manager of the locale); appended by default."""
    ticket, _ = await _ticket_to_change(session, principal, ticket_id, MANAGERS)
    position = data.position
    if position is None:
        last = (
            await session.execute(
                select(func.max(TicketTask.position)).where(TicketTask.ticket_id == ticket.id)
            )
        ).scalar_one_or_none()
        position = 0 if last is None else min(int(last) + 1, 10_000)
    task = TicketTask(
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        ticket_id=ticket.id,
        position=position,
        label=data.label,
        kind=data.kind.value,
        min_value=data.min_value,
        max_value=data.max_value,
        is_done=False,
    )
    session.add(task)
    await session.flush()
    return task


async def update_task(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    task_id: uuid.UUID,
    data: TaskUpdate,
) -> TicketTask:
    """Change a task's label, limits or position (owner or locale manager)."""
    ticket, _ = await _ticket_to_change(session, principal, ticket_id, MANAGERS)
    task = await _task_of(session, principal, ticket, task_id)
    changes = data.model_dump(exclude_unset=True)
    limits = {"min_value", "max_value"} & changes.keys()
    if limits and task.kind != TaskKind.number:
        raise _limit_error(
            gettext("Only number tasks have min_value and max_value."), "limits_not_allowed"
        )
    low = changes.get("min_value", task.min_value)
    high = changes.get("max_value", task.max_value)
    if low is not None and high is not None and low > high:
        raise _limit_error(gettext("min_value must not exceed max_value."))
    for key, value in changes.items():
        setattr(task, key, value)
    if limits and task.is_done and task.value_number is not None:
        task.passed = _within(task, task.value_number)
    await session.flush()
    return task


async def delete_task(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, task_id: uuid.UUID
) -> None:
    """Remove a checklist item (owner or locale manager)."""
    ticket, _ = await _ticket_to_change(session, principal, ticket_id, MANAGERS)
    task = await _task_of(session, principal, ticket, task_id)
    await session.delete(task)
    await session.flush()


def _value_error(kind: str, expected: str) -> Unprocessable:
    msg = gettext("a {kind} task takes {expected}", kind=kind, expected=expected)
    return Unprocessable(
        gettext("The value does not fit this task: {msg}.", msg=msg),
        errors=[field_error(("body", "value"), msg, "value_type")],
    )


def _record(task: TicketTask, value: Any) -> None:
    """Store ``value`` on the task by its kind (422 when it does not fit)."""
    kind = task.kind
    if kind == TaskKind.check:
        if value is not True:
            raise _value_error(kind, "true")
        task.passed = None
    elif kind == TaskKind.number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _value_error(kind, "a number")
        task.value_number = float(value)
        task.passed = _within(task, task.value_number)
    elif kind == TaskKind.text:
        if not isinstance(value, str) or not value:
            raise _value_error(kind, "a non-empty text")
        task.value_text = value
        task.passed = None
    else:  # pass_fail
        if not isinstance(value, bool):
            raise _value_error(kind, "true (pass) or false (fail)")
        task.passed = value


async def _open_follow_up(
    session: AsyncSession, principal: Principal, ticket: ServiceTicket, task: TicketTask
) -> ServiceTicket:
    """Raise the follow-up ticket of a failed task through the tickets service."""
    # Stored once for all the client's people: in the client's language.
    language = await language_of_client(session, ticket.client_id)
    code = ticket_code(ticket.number)
    prefix = gettext("Follow-up: ", language)
    suffix = f" ({code})"
    room = 200 - len(prefix) - len(suffix)
    label = task.label if len(task.label) <= room else task.label[: room - 1] + "…"
    detail = (
        gettext(
            "Value recorded: {value}.",
            language,
            value=formats.format_number(task.value_number, language),
        )
        if task.value_number is not None
        else ""
    )
    failed = gettext(
        "Checklist item “{item}” of {number} failed.", language, item=task.label, number=code
    )
    data = TicketCreate(
        title=f"{prefix}{label}{suffix}",
        description=f"{failed} {detail}".strip(),
        locale_id=ticket.locale_id,
        asset_id=ticket.asset_id,
        priority=ticket.priority,
    )
    # Raised by the check, not from a form: the client's required fields are not asked for.
    return await intake.create_ticket(session, principal=principal, data=data, from_form=False)


async def complete_task(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    task_id: uuid.UUID,
    data: TaskComplete,
) -> tuple[TicketTask, ServiceTicket | None]:
    """Record a task's value (owner, locale manager or the assigned technician); a failed one
    may open a follow-up ticket."""
    ticket, kinds = await _ticket_to_change(session, principal, ticket_id, WORKERS)
    if data.open_follow_up and not kinds & MANAGERS:
        # Follow-ups are raised through the tickets service, by those who may raise tickets.
        raise Forbidden(
            gettext("Only the client's owner or a locale manager can open a follow-up ticket.")
        )
    task = await _task_of(session, principal, ticket, task_id)
    _record(task, data.value)
    follow_up: ServiceTicket | None = None
    if data.open_follow_up:
        if task.passed is not False:
            msg = gettext(
                "only a failed pass/fail item or a number out of its limits opens a follow-up"
            )
            raise Unprocessable(
                gettext("This task did not fail; it needs no follow-up ticket."),
                errors=[field_error(("body", "open_follow_up"), msg, "follow_up_not_needed")],
            )
        if task.follow_up_ticket_id is not None:
            raise Conflict(
                gettext("This task already has a follow-up ticket."),
                code="follow_up_exists",
                follow_up_ticket_id=str(task.follow_up_ticket_id),
            )
        follow_up = await _open_follow_up(session, principal, ticket, task)
        task.follow_up_ticket_id = follow_up.id
    task.is_done = True
    task.completed_by_id = principal.user_id
    task.completed_at = utcnow()
    await session.flush()
    return task, follow_up
