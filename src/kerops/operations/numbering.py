"""Ticket numbers: each client's tickets are numbered 1, 2, 3... by a counter row, and a search
text may name a ticket by its number."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.errors import Conflict
from kerops.core.i18n import gettext
from kerops.operations.models import TicketCounter

#: The counter's increment (every new ticket): built once.
_BUMP = (
    update(TicketCounter)
    .where(TicketCounter.client_id == bindparam("counter_of"))
    .values(last_number=TicketCounter.last_number + 1)
    .returning(TicketCounter.last_number)
    .execution_options(synchronize_session=False)
)


async def next_ticket_number(session: AsyncSession, client_id: uuid.UUID) -> int:
    """Hand out the client's next ticket number (atomic: never twice, also under concurrency)."""
    for _ in range(3):
        number = (await session.execute(_BUMP, {"counter_of": client_id})).scalar_one_or_none()
        if number is not None:
            return int(number)
        try:
            # The client's first ticket: create the counter; a concurrent first ticket may win.
            async with session.begin_nested():
                await session.execute(
                    insert(TicketCounter).values(client_id=client_id, last_number=1)
                )
            return 1
        except IntegrityError:
            continue
    raise Conflict(gettext("Could not number the ticket; try again."), code="numbering_conflict")


_NUMBER_QUERY = re.compile(r"^(?:[Tt]-?)?0*(\d{1,9})$")


def number_of(q: str) -> int | None:
    """The ticket number a search text names (``42``, ``T-42``, ``t0042``), if it names one."""
    match = _NUMBER_QUERY.match(q.strip())
    return int(match.group(1)) if match else None
