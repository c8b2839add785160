"""Isolation case of re-running a ticket's diagnosis, aimed at client A's ticket."""

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


def _ticket(w: World) -> dict[str, Any]:
    """A's open ticket, inserted with a Core statement (no audit rows)."""

    def make() -> uuid.UUID:
        client_id = w.a_owner.client_id
        assert client_id is not None
        ticket_id = uuid7()
        now = utcnow()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(ServiceTicket).values(
                    id=ticket_id,
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: el chiller no enfría",
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

    return {"ticket_id": w.once("diagnosis_ticket", make)}


CASES = {
    ("POST", f"{P}/tickets/{{ticket_id}}/diagnosis"): Case(params=_ticket),
}
