"""A ticket's history: its status moves and its comments, page by page."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.operations.models import ServiceTicket, TicketComment, TicketHistory

HISTORY_SORTS = {"created_at": TicketHistory.created_at}
COMMENT_SORTS = {"created_at": TicketComment.created_at}


async def list_history(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[TicketHistory], str | None]:
    """One page of a ticket's status moves, oldest first."""
    await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    stmt = access.scoped(select(TicketHistory), TicketHistory, principal).where(
        TicketHistory.ticket_id == ticket_id
    )
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=HISTORY_SORTS,
        id_column=TicketHistory.id,
        default_sort="created_at",
    )


async def add_comment(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, body: str
) -> TicketComment:
    """Comment on a ticket (anyone who can read it)."""
    ticket = await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    comment = TicketComment(
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        ticket_id=ticket.id,
        author_id=principal.user_id,
        body=body,
    )
    session.add(comment)
    await session.flush()
    return comment


async def list_comments(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[TicketComment], str | None]:
    """One page of a ticket's comments, oldest first."""
    await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    stmt = access.scoped(select(TicketComment), TicketComment, principal).where(
        TicketComment.ticket_id == ticket_id
    )
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=COMMENT_SORTS,
        id_column=TicketComment.id,
        default_sort="created_at",
    )
