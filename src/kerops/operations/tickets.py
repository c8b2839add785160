"""A raised ticket's details: the states in which it is closed, and changes to its details."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import MovementDocument, TicketStatus
from kerops.core.errors import Forbidden, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.principal import Principal
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.inventory.models import InventoryMovement
from kerops.operations import sla
from kerops.operations.actors import actor_kinds
from kerops.operations.intake import check_in_locale
from kerops.operations.models import ServiceTicket
from kerops.operations.schemas import StepRole, TicketUpdate

#: States in which a ticket no longer counts as overdue.
CLOSED_STATES = (TicketStatus.resolved, TicketStatus.completed, TicketStatus.cancelled)


async def _refuse_typed_parts_cost(session: AsyncSession, ticket: ServiceTicket) -> None:
    """Once stock moved for a ticket, its parts cost is the ledger's, never typed by hand."""
    moved = exists().where(
        InventoryMovement.document_kind == MovementDocument.ticket,
        InventoryMovement.document_id == ticket.id,
    )
    if (await session.execute(select(moved))).scalar():
        msg = gettext("the parts cost comes from the parts issued to the ticket")
        raise Unprocessable(
            msg,
            code="parts_cost_from_stock",
            errors=[field_error(("body", "parts_cost_minor"), msg, "parts_cost_from_stock")],
        )


async def update_ticket(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: TicketUpdate
) -> ServiceTicket:
    """Change a ticket's details (the client's owner or a manager of its locale; not status)."""
    ticket = await access.get_for_write(
        session, ServiceTicket, ticket_id, principal, for_update=True
    )
    kinds = await actor_kinds(session, principal, ticket)
    if not kinds & {StepRole.staff, StepRole.owner, StepRole.manager}:
        raise Forbidden(
            gettext("Only the client's owner or a manager of the locale can change a ticket.")
        )
    changes = data.model_dump(exclude_unset=True)
    if "parts_cost_minor" in changes:
        await _refuse_typed_parts_cost(session, ticket)
    for field in ("area_id", "asset_id"):
        await check_in_locale(session, principal, ticket.locale_id, field, changes.get(field))
    if "custom_fields" in changes:
        changes["custom_fields"] = await customfields.values_for_write(
            session,
            client_id=ticket.client_id,
            entity=FieldEntity.ticket,
            given=data.custom_fields,
            current=ticket.custom_fields,
            creating=False,
        )
    for key, value in changes.items():
        setattr(ticket, key, value)
    if "priority" in changes:
        await sla.reschedule(session, ticket)  # SLA: deadlines from created_at, plus pauses
    await session.flush()
    await access.ensure_still_in_scope(session, ticket, principal)
    return ticket
