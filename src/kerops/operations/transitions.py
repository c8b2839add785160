"""The transition engine: a ticket moves along its workflow when the step exists, the caller may
take it and its requirements (comment, tasks done, photo, signature, a valid licence, parts
recorded) are met."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import MovementDocument, MovementKind, TicketStatus
from kerops.core.errors import Conflict, Forbidden, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.principal import Principal
from kerops.core.types import utcnow
from kerops.events import service as events
from kerops.inventory.models import InventoryMovement
from kerops.operations import sla, workflows
from kerops.operations.actors import actor_kinds
from kerops.operations.models import (
    ServiceTicket,
    TicketAttachment,
    TicketComment,
    TicketHistory,
    TicketTask,
    WorkflowStep,
)
from kerops.operations.schemas import TransitionCreate
from kerops.operations.ticket_events import ticket_event
from kerops.workforce.models import TechnicianCertification

#: The first move out of these into ``RESPONSE_STATES`` stamps ``responded_at``.
WAITING_STATES = (TicketStatus.open, TicketStatus.assigned)
RESPONSE_STATES = (TicketStatus.accepted, TicketStatus.en_route, TicketStatus.in_progress)

#: What another module does when a ticket moves (automation: a plan's ticket completed or
#: cancelled moves its plan on), registered by it, so this module imports none of them.
TicketMoved = Callable[[AsyncSession, ServiceTicket], Awaitable[object]]
_ON_TICKET_MOVED: list[TicketMoved] = []


def on_ticket_moved(fn: TicketMoved) -> TicketMoved:
    """Register ``await fn(session, ticket)``, run in the transaction of every move of a ticket,
    once its new status and stamps are set (before its SLA clock and history)."""
    if fn not in _ON_TICKET_MOVED:
        _ON_TICKET_MOVED.append(fn)
    return fn


async def _requirement_errors(
    session: AsyncSession, ticket: ServiceTicket, step: WorkflowStep, comment: str
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if step.to_status is TicketStatus.assigned and ticket.technician_id is None:
        errors.append(
            field_error(
                ("body", "to_status"),
                gettext(
                    "a move to assigned needs a technician: the ticket's technician_id is not set "
                    "(assign one with POST /tickets/{id}/assign)"
                ),
                "technician_required",
            )
        )
    if step.requires_comment and not comment:
        errors.append(
            field_error(
                ("body", "comment"), gettext("this move requires a comment"), "comment_required"
            )
        )
    if step.requires_all_tasks_done:
        open_tasks = (
            await session.execute(
                select(TicketTask.label)
                .where(TicketTask.ticket_id == ticket.id, TicketTask.is_done.is_(False))
                .order_by(TicketTask.position, TicketTask.id)
            )
        ).scalars()
        labels = list(open_tasks)
        if labels:
            errors.append(
                field_error(
                    ("body", "to_status"),
                    gettext("tasks still open: {tasks}", tasks="; ".join(labels)),
                    "tasks_not_done",
                )
            )
    for needed, kind in ((step.requires_photo, "photo"), (step.requires_signature, "signature")):
        if needed:
            has = exists().where(
                TicketAttachment.ticket_id == ticket.id, TicketAttachment.kind == kind
            )
            if not (await session.execute(select(has))).scalar():
                errors.append(
                    field_error(
                        ("body", "to_status"),
                        gettext("this move requires a {kind} attachment", kind=kind),
                        f"{kind}_required",
                    )
                )
    if step.requires_parts_recorded:
        issued = exists().where(
            InventoryMovement.document_kind == MovementDocument.ticket,
            InventoryMovement.document_id == ticket.id,
            InventoryMovement.kind == MovementKind.issue,
        )
        if not (await session.execute(select(issued))).scalar():
            errors.append(
                field_error(
                    ("body", "to_status"),
                    gettext("this move requires the ticket's parts to be recorded"),
                    "parts_required",
                )
            )
    if step.requires_valid_licence:
        problem = await _licence_problem(session, ticket, utcnow().date())
        if problem:
            errors.append(field_error(("body", "to_status"), problem, "licence_required"))
    return errors


async def _licence_problem(session: AsyncSession, ticket: ServiceTicket, today: date) -> str | None:
    needed = ticket.required_certification or ticket.required_skill
    if needed is None:
        return None
    if ticket.technician_id is None:
        return gettext(
            "this move requires an assigned technician holding a valid '{licence}' licence",
            licence=needed,
        )
    valid = exists().where(
        TechnicianCertification.technician_id == ticket.technician_id,
        TechnicianCertification.cert_type == needed,
        or_(
            TechnicianCertification.expires_date.is_(None),
            TechnicianCertification.expires_date >= today,
        ),
    )
    if (await session.execute(select(valid))).scalar():
        return None
    return gettext("the assigned technician holds no valid '{licence}' licence", licence=needed)


async def transition(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: TransitionCreate
) -> ServiceTicket:
    """Move a ticket along its workflow: the step must exist, the caller take it, its needs met.

    The ticket's row is locked as it is read (PostgreSQL; SQLite writers are serialised by
    ``BEGIN IMMEDIATE``): a concurrent move waits, then reads the status this one set, and is
    judged from there (one UPDATE, the ORM's, which the audit log records)."""
    ticket = await access.get_scoped(session, ServiceTicket, ticket_id, principal, for_update=True)
    current = ticket.status
    if ticket.workflow_id is not None:
        workflow_id = ticket.workflow_id
    else:
        workflow_id = (await workflows.ensure_default_workflow(session, ticket.client_id)).id
    steps = await workflows.steps_from(session, workflow_id, current)
    kinds = {k.value for k in await actor_kinds(session, principal, ticket)}
    step = next((s for s in steps if s.to_status == data.to_status), None)
    if step is None:
        allowed = list(
            dict.fromkeys(s.to_status.value for s in steps if kinds & set(s.allowed_roles))
        )
        raise Conflict(
            gettext(
                "A ticket cannot move from {current} to {to_status} in its workflow.",
                current=current,
                to_status=data.to_status,
            ),
            code="transition_not_allowed",
            allowed=allowed,
        )
    if not kinds & set(step.allowed_roles):
        allowed_roles = [str(role) for role in step.allowed_roles]
        raise Forbidden(
            gettext(
                "You may not move this ticket from {current} to {to_status}: only {roles} may.",
                current=current,
                to_status=data.to_status,
                roles=", ".join(allowed_roles),
            ),
            code="transition_forbidden",
            allowed_roles=allowed_roles,
        )
    comment = data.comment or ""
    errors = await _requirement_errors(session, ticket, step, comment)
    if errors:
        raise Unprocessable(
            gettext("This move's requirements are not met; see errors."),
            code="transition_requirements",
            errors=errors,
        )
    now = utcnow()
    ticket.status = data.to_status
    ticket.updated_at = now
    if (
        ticket.responded_at is None
        and current in WAITING_STATES
        and data.to_status in RESPONSE_STATES
    ):
        ticket.responded_at = now
    if data.to_status is TicketStatus.resolved:
        ticket.resolved_at = now
    elif data.to_status is TicketStatus.completed:
        ticket.completed_at = now
    elif data.to_status is TicketStatus.cancelled:
        ticket.cancelled_at = now
    for moved in _ON_TICKET_MOVED:  # automation: a plan's ticket completed or cancelled
        await moved(session, ticket)
    await sla.record_status_change(session, ticket, now)  # SLA: pauses, next check
    session.add(
        TicketHistory(
            client_id=ticket.client_id,
            locale_id=ticket.locale_id,
            ticket_id=ticket.id,
            from_status=current,
            to_status=data.to_status,
            actor_id=principal.user_id,
            comment=comment,
            created_at=now,
        )
    )
    if comment:
        session.add(
            TicketComment(
                client_id=ticket.client_id,
                locale_id=ticket.locale_id,
                ticket_id=ticket.id,
                author_id=principal.user_id,
                body=comment,
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()
    events.emit(
        session,
        "ticket.status_changed",
        **ticket_event(ticket, actor_id=principal.user_id, from_status=current),
    )
    return ticket
