"""What a reader is shown of a ticket's stored diagnosis.

A diagnosis learns from every resolved ticket of the client, whatever its locale, and cites them:
``ai_similar_ticket_ids``, and ``ai_cause`` when it quotes a past ticket's resolution note or
title (the tickets it is taken from are ``ai_cause_ticket_ids``, never shown). A reader may not
read all of those tickets (a requester of one locale, a technician assigned to this ticket), so
every path that shows a ticket's diagnosis goes through here: the similar tickets are those the
reader may read (``access.readable_ids``: the same rules as any read, one statement for a page,
none when nothing is cited), and a cause taken from a ticket the reader may not read gives way
to one taken from no ticket (``generic_cause``). The skill, parts and confidence are shown as
stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.operations.diagnosis_engine import generic_cause
from kerops.operations.models import ServiceTicket
from kerops.operations.schemas import TicketRead


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None  # not an id: never readable


def _cited(*lists: Iterable[Any] | None) -> set[uuid.UUID]:
    found = {_uuid(value) for values in lists for value in values or ()}
    found.discard(None)
    return found  # type: ignore[return-value]


def visible(
    *,
    similar_ids: Sequence[Any],
    cause: str | None,
    cause_ticket_ids: Sequence[Any],
    skill: str | None,
    readable: set[uuid.UUID],
) -> tuple[list[Any], str | None]:
    """The similar tickets and the cause a reader who may read ``readable`` is shown."""
    shown_similar = [t for t in similar_ids if _uuid(t) in readable]
    if cause is not None and any(_uuid(t) not in readable for t in cause_ticket_ids):
        cause = generic_cause(skill)
    return shown_similar, cause


def _shown_row(row: Mapping[str, Any], readable: set[uuid.UUID]) -> dict[str, Any]:
    data = dict(row)
    data["ai_similar_ticket_ids"], data["ai_cause"] = visible(
        similar_ids=data.get("ai_similar_ticket_ids") or [],
        cause=data.get("ai_cause"),
        cause_ticket_ids=data.pop("ai_cause_ticket_ids", None) or [],
        skill=data.get("ai_skill"),
        readable=readable,
    )
    return data


async def shown_rows(reader: Reader, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tickets as rows of columns (read through the reader), each with the diagnosis the
    reader may see."""
    cited = _cited(
        *(r.get("ai_similar_ticket_ids") for r in rows),
        *(r.get("ai_cause_ticket_ids") for r in rows),
    )
    readable = await reader.readable_ids(ServiceTicket, cited)
    return [_shown_row(row, readable) for row in rows]


async def readable_cited(
    session: AsyncSession, principal: Principal, *lists: Iterable[Any] | None
) -> set[uuid.UUID]:
    """Which of the tickets named in ``lists`` the principal may read (one statement)."""
    return await access.readable_ids(session, ServiceTicket, _cited(*lists), principal)


async def ticket_read(
    session: AsyncSession, principal: Principal, ticket: ServiceTicket
) -> TicketRead:
    """A ticket loaded through the session as ``principal`` is shown it (a write's answer)."""
    read = TicketRead.model_validate(ticket)
    readable = await readable_cited(
        session, principal, ticket.ai_similar_ticket_ids, ticket.ai_cause_ticket_ids
    )
    similar, cause = visible(
        similar_ids=ticket.ai_similar_ticket_ids or [],
        cause=ticket.ai_cause,
        cause_ticket_ids=ticket.ai_cause_ticket_ids or [],
        skill=ticket.ai_skill,
        readable=readable,
    )
    return read.model_copy(update={"ai_similar_ticket_ids": similar, "ai_cause": cause})
