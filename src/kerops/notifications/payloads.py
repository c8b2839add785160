"""The events notifications know (the arguments of the ticket events are built by
``kerops.operations.ticket_events``)."""

from __future__ import annotations

#: Every event type subscriptions may name (``*`` in a subscription means all of them).
EVENT_TYPES: tuple[str, ...] = (
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "sla.warning",
    "sla.breached",
    "plan.generated",
    "sensor.alert",
    "certification.expiring",
    "stock.low",
)
ALL_EVENTS = "*"
