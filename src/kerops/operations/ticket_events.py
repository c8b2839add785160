"""The arguments of the events about a ticket (``kerops.notifications.payloads`` lists the event
types)."""

from __future__ import annotations

import uuid
from typing import Any

from kerops.core.enums import TicketStatus
from kerops.operations.models import ServiceTicket


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def ticket_event(
    ticket: ServiceTicket,
    *,
    actor_id: uuid.UUID | None,
    from_status: TicketStatus | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``events.emit`` for an event about ``ticket``.

    The payload carries ids and the ticket's headline only (no reporter contact details): it is
    sent to the client's webhooks as it stands.
    """
    payload: dict[str, Any] = {
        "number": ticket.number,
        "title": ticket.title,
        "status": str(ticket.status),
        "priority": str(ticket.priority),
        "requester_id": _id(ticket.requester_id),
        "technician_id": _id(ticket.technician_id),
        "vendor_id": _id(ticket.vendor_id),
        "actor_id": _id(actor_id),
    }
    if from_status is not None:
        payload["from_status"] = str(from_status)
    return {
        "client_id": ticket.client_id,
        "locale_id": ticket.locale_id,
        "vendor_id": ticket.vendor_id,
        "subject_type": "ticket",
        "subject_id": ticket.id,
        "payload": payload,
    }
