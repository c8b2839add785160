"""Isolation cases of the operations routes: workflows with their steps, tickets and details."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus
from kerops.core.types import utcnow, uuid7
from kerops.operations.models import (
    ServiceTicket,
    TicketComment,
    TicketHistory,
    Workflow,
    WorkflowStep,
)
from kerops.operations.numbering import next_ticket_number
from tests.isolation import Case, World

P = "/api/v1"

WORKFLOW = "/workflows/{workflow_id}"
STEPS = f"{WORKFLOW}/steps"
STEP = f"{STEPS}/{{step_id}}"
TICKET = "/tickets/{ticket_id}"


def _objects(w: World) -> dict[str, uuid.UUID]:
    """A's default workflow, one of its steps, a ticket with a history row and a comment.

    Inserted with Core statements (no audit row): cases are aimed while the harness is already
    counting A's audit rows, and the objects must exist before any outsider is tried.
    """

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        ticket_id, history_id, comment_id = uuid7(), uuid7(), uuid7()
        now = utcnow()

        async def create(session: AsyncSession) -> tuple[uuid.UUID, uuid.UUID]:
            # A registered through the API, so its default workflow already exists.
            workflow_id = (
                await session.execute(
                    select(Workflow.id).where(
                        Workflow.client_id == client_id, Workflow.is_default.is_(True)
                    )
                )
            ).scalar_one()
            step_id = (
                await session.execute(
                    select(WorkflowStep.id).where(WorkflowStep.workflow_id == workflow_id).limit(1)
                )
            ).scalar_one()
            await session.execute(
                insert(ServiceTicket).values(
                    id=ticket_id,
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: fuga de agua",
                    description="",
                    locale_id=w.a_locale,
                    area_id=w.a_area,
                    requester_id=w.a_requester.id,
                    technician_id=w.a_technician.id,
                    vendor_id=w.a_vendor,
                    workflow_id=workflow_id,
                    status=TicketStatus.open,
                    created_at=now,
                    updated_at=now,
                )
            )
            scope: dict[str, Any] = {
                "client_id": client_id,
                "locale_id": w.a_locale,
                "ticket_id": ticket_id,
            }
            await session.execute(
                insert(TicketHistory).values(
                    id=history_id, to_status=TicketStatus.open, created_at=now, **scope
                )
            )
            await session.execute(
                insert(TicketComment).values(
                    id=comment_id, body="A: comentario", created_at=now, updated_at=now, **scope
                )
            )
            return workflow_id, step_id

        workflow_id, step_id = w.run(create)
        ids = {
            "workflow": workflow_id,
            "step": step_id,
            "ticket": ticket_id,
            "history": history_id,
            "comment": comment_id,
        }
        w.remember(*ids.values())
        return ids

    objects: dict[str, uuid.UUID] = w.once("operations", make)
    return objects


def _no_query(w: World) -> dict[str, Any]:
    """No filters; A's objects are made first so that a list could show them."""
    _objects(w)
    return {}


def _workflow(w: World) -> dict[str, Any]:
    return {"workflow_id": _objects(w)["workflow"]}


def _step(w: World) -> dict[str, Any]:
    ids = _objects(w)
    return {"workflow_id": ids["workflow"], "step_id": ids["step"]}


def _ticket(w: World) -> dict[str, Any]:
    return {"ticket_id": _objects(w)["ticket"]}


STEP_BODY = {"from_status": "open", "to_status": "completed", "allowed_roles": ["requester"]}

CASES = {
    # A workflow for A's client (B's owner may only create its own; the others none at all).
    ("POST", f"{P}/workflows"): Case(
        body=lambda w: {"name": "Intruso", "client_id": str(w.a_owner.client_id)},
    ),
    ("GET", f"{P}/workflows"): Case(kind="list", query=_no_query),
    ("GET", f"{P}{WORKFLOW}"): Case(params=_workflow),
    ("PATCH", f"{P}{WORKFLOW}"): Case(
        params=_workflow, body=lambda w: {"name": "Hacked", "is_active": False}
    ),
    ("DELETE", f"{P}{WORKFLOW}"): Case(params=_workflow),
    ("POST", f"{P}{STEPS}"): Case(params=_workflow, body=lambda w: STEP_BODY),
    ("GET", f"{P}{STEPS}"): Case(params=_workflow, kind="list"),
    ("GET", f"{P}{STEP}"): Case(params=_step),
    ("PATCH", f"{P}{STEP}"): Case(params=_step, body=lambda w: {"allowed_roles": ["staff"]}),
    ("DELETE", f"{P}{STEP}"): Case(params=_step),
    # A ticket in A's locale, on A's area.
    ("POST", f"{P}/tickets"): Case(
        body=lambda w: {
            "title": "Intruso",
            "locale_id": str(w.a_locale),
            "area_id": str(w.a_area),
        },
    ),
    ("GET", f"{P}/tickets"): Case(kind="list", query=_no_query),
    ("GET", f"{P}{TICKET}"): Case(params=_ticket),
    ("PATCH", f"{P}{TICKET}"): Case(
        params=_ticket, body=lambda w: {"title": "Hacked", "priority": "critical"}
    ),
    ("POST", f"{P}{TICKET}/transitions"): Case(
        params=_ticket, body=lambda w: {"to_status": "cancelled", "comment": "x"}
    ),
    ("GET", f"{P}{TICKET}/history"): Case(params=_ticket, kind="list"),
    ("POST", f"{P}{TICKET}/comments"): Case(params=_ticket, body=lambda w: {"body": "Intruso"}),
    ("GET", f"{P}{TICKET}/comments"): Case(params=_ticket, kind="list"),
}
