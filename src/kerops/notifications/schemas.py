"""Request and response bodies of notifications and webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from kerops.core.schemas import InputModel, ReadModel, refuse_null
from kerops.notifications.models import DeliveryStatus
from kerops.notifications.payloads import ALL_EVENTS, EVENT_TYPES

EventType = Literal[
    "*",
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "sla.warning",
    "sla.breached",
    "plan.generated",
    "sensor.alert",
    "certification.expiring",
    "stock.low",
]
assert set(EventType.__args__) == {ALL_EVENTS, *EVENT_TYPES}  # type: ignore[attr-defined]

WebhookUrl = Annotated[str, StringConstraints(min_length=8, max_length=2000, strip_whitespace=True)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES) + 1)]
Description = Annotated[str, StringConstraints(max_length=500)]


class NotificationRead(ReadModel):
    """One in-app notification."""

    id: uuid.UUID
    event_id: uuid.UUID
    type: str
    title: str
    body: str
    subject_type: str | None
    subject_id: uuid.UUID | None
    link: str | None
    read_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UnreadCount(ReadModel):
    """How many notifications the caller has not read."""

    unread: int


class MarkedRead(ReadModel):
    """How many notifications were marked read."""

    updated: int


def _unique(values: list[EventType]) -> list[EventType]:
    return list(dict.fromkeys(values))


class WebhookCreate(InputModel):
    """A new webhook: where to POST, which events; the signing secret is generated."""

    url: WebhookUrl
    event_types: EventTypes
    description: Description = ""
    is_active: bool = True
    #: Platform staff name the client; a client's owner leaves it out.
    client_id: uuid.UUID | None = None

    _unique_types = field_validator("event_types")(_unique)


class WebhookUpdate(InputModel):
    """Changes to a webhook (omitted fields keep their values)."""

    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    is_active: bool | None = None

    _not_null = field_validator("url", "event_types", "description", "is_active")(refuse_null)


class WebhookRead(ReadModel):
    """A webhook subscription (never its secret)."""

    id: uuid.UUID
    client_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    """A webhook with its signing secret: shown only when made or rotated."""

    secret: str


class DeliveryRead(ReadModel):
    """One delivery of an event to a webhook, with its last attempt."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_duration_ms: int | None
    delivered_at: datetime | None
    created_at: datetime
