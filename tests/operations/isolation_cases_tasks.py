"""Isolation cases of a ticket's checklist routes, aimed at client A's ticket and task."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus
from kerops.core.types import utcnow, uuid7
from kerops.operations.models import ServiceTicket, TicketTask
from kerops.operations.numbering import next_ticket_number
from tests.isolation import Case, World

P = "/api/v1"

TASKS = "/tickets/{ticket_id}/tasks"
TASK = f"{TASKS}/{{task_id}}"


def _objects(w: World) -> dict[str, uuid.UUID]:
    """A ticket of A with a failing pass/fail task, inserted with Core statements (no audit)."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        ticket_id, task_id = uuid7(), uuid7()
        now = utcnow()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(ServiceTicket).values(
                    id=ticket_id,
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: revisión de bomba",
                    description="",
                    locale_id=w.a_locale,
                    area_id=w.a_area,
                    requester_id=w.a_requester.id,
                    technician_id=w.a_technician.id,
                    vendor_id=w.a_vendor,
                    status=TicketStatus.in_progress,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.execute(
                insert(TicketTask).values(
                    id=task_id,
                    client_id=client_id,
                    locale_id=w.a_locale,
                    ticket_id=ticket_id,
                    position=0,
                    label="A: presión",
                    kind="pass_fail",
                    is_done=False,
                    created_at=now,
                    updated_at=now,
                )
            )

        w.run(create)
        ids = {"ticket": ticket_id, "task": task_id}
        w.remember(*ids.values())
        return ids

    objects: dict[str, uuid.UUID] = w.once("ticket_tasks", make)
    return objects


def _ticket(w: World) -> dict[str, Any]:
    return {"ticket_id": _objects(w)["ticket"]}


def _task(w: World) -> dict[str, Any]:
    ids = _objects(w)
    return {"ticket_id": ids["ticket"], "task_id": ids["task"]}


CASES = {
    ("GET", f"{P}{TASKS}"): Case(params=_ticket, kind="list"),
    ("POST", f"{P}{TASKS}"): Case(
        params=_ticket, body=lambda w: {"label": "Intruso", "kind": "check"}
    ),
    ("PATCH", f"{P}{TASK}"): Case(params=_task, body=lambda w: {"label": "Hacked"}),
    ("DELETE", f"{P}{TASK}"): Case(params=_task),
    ("POST", f"{P}{TASK}/complete"): Case(
        params=_task, body=lambda w: {"value": False, "open_follow_up": True}
    ),
}
