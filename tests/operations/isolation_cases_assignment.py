"""Isolation cases of the assignment routes: assigning a technician to, and ranking the
candidates of, one of client A's tickets."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus
from kerops.core.types import utcnow, uuid7
from kerops.operations.models import ServiceTicket
from kerops.operations.numbering import next_ticket_number
from tests.isolation import Case, World

P = "/api/v1"
TICKET = "/tickets/{ticket_id}"


def _ticket(w: World) -> dict[str, Any]:
    """An open, unassigned ticket of A (inserted with Core: no audit row)."""

    def make() -> uuid.UUID:
        client_id = w.a_owner.client_id
        assert client_id is not None
        ticket_id: uuid.UUID = uuid7()
        now = utcnow()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(ServiceTicket).values(
                    id=ticket_id,
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: sin luz",
                    description="",
                    locale_id=w.a_locale,
                    requester_id=w.a_requester.id,
                    status=TicketStatus.open,
                    created_at=now,
                    updated_at=now,
                )
            )

        w.run(create)
        w.remember(ticket_id)
        return ticket_id

    ticket_id: uuid.UUID = w.once("assignment", make)
    return {"ticket_id": ticket_id}


CASES = {
    ("POST", f"{P}{TICKET}/assign"): Case(
        params=_ticket, body=lambda w: {"technician_id": str(w.a_technician.id)}
    ),
    ("GET", f"{P}{TICKET}/candidates"): Case(params=_ticket),
}
