"""Isolation cases of the notification and webhook routes: A owner's notification, A's webhook
and one of its deliveries."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.security import Security
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.notifications.models import (
    DeliveryStatus,
    EmailState,
    Notification,
    WebhookDelivery,
    WebhookSubscription,
)
from tests.isolation import Case, World

P = "/api/v1"
HOOK = f"{P}/webhooks/{{webhook_id}}"


def a_objects(w: World) -> dict[str, uuid.UUID]:
    """An event of A with a notification to A's owner, and A's webhook with a dead delivery.

    Inserted with Core statements (no audit row), before any outsider is tried. The webhook's
    address is a documentation one (192.0.2.0/24): a delivery is refused before any connection.
    """

    def make() -> dict[str, uuid.UUID]:
        ids = {key: uuid7() for key in ("event_id", "notification_id", "webhook_id", "delivery_id")}
        security: Security = w.client.app.state.kerops.security  # type: ignore[attr-defined]
        now = utcnow()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(Event).values(
                    id=ids["event_id"],
                    client_id=w.a_owner.client_id,
                    locale_id=w.a_locale,
                    type="sla.breached",
                    subject_type="ticket",
                    subject_id=uuid7(),
                    payload={"number": 1, "title": "A Falla"},
                    created_at=now,
                    dispatched_at=now,
                    attempts=0,
                )
            )
            await session.execute(
                insert(Notification).values(
                    id=ids["notification_id"],
                    user_id=w.a_owner.id,
                    client_id=w.a_owner.client_id,
                    event_id=ids["event_id"],
                    type="sla.breached",
                    title="A SLA breached",
                    body="A Falla",
                    created_at=now,
                    email_state=EmailState.none,
                    email_attempts=0,
                )
            )
            await session.execute(
                insert(WebhookSubscription).values(
                    id=ids["webhook_id"],
                    client_id=w.a_owner.client_id,
                    url="https://192.0.2.10/a-hook",
                    event_types=["*"],
                    description="A ERP",
                    secret_encrypted=security.encrypt("whsec_a"),
                    is_active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.execute(
                insert(WebhookDelivery).values(
                    id=ids["delivery_id"],
                    client_id=w.a_owner.client_id,
                    subscription_id=ids["webhook_id"],
                    event_id=ids["event_id"],
                    event_type="sla.breached",
                    status=DeliveryStatus.dead,
                    attempts=8,
                    next_attempt_at=now,
                    last_error="HTTP 500",
                    created_at=now,
                )
            )

        w.run(create)
        w.remember(*ids.values(), "https://192.0.2.10/a-hook")
        return ids

    objects: dict[str, uuid.UUID] = w.once("a_notifications", make)
    return objects


def _made(w: World) -> dict[str, Any]:
    """No parameters, once A's objects exist (their ids must never show up)."""
    a_objects(w)
    return {}


def _hook(w: World) -> dict[str, Any]:
    return {"webhook_id": a_objects(w)["webhook_id"]}


CASES = {
    # An inbox is personal: outsiders see and mark only their own (A's stays unread).
    ("GET", f"{P}/notifications"): Case(kind="list", query=_made),
    ("GET", f"{P}/notifications/unread-count"): Case(params=_made, expect=frozenset({200})),
    ("POST", f"{P}/notifications/read-all"): Case(params=_made, expect=frozenset({200})),
    ("POST", f"{P}/notifications/{{notification_id}}/read"): Case(
        params=lambda w: {"notification_id": a_objects(w)["notification_id"]}
    ),
    # Creating a webhook for client A: 404 (A unseen) or 403 (not an owner).
    ("POST", f"{P}/webhooks"): Case(
        body=lambda w: {
            "url": "https://93.184.215.14/hook",
            "event_types": ["ticket.created"],
            "client_id": str(w.a_owner.client_id),
        }
    ),
    ("GET", f"{P}/webhooks"): Case(kind="list", query=_made),
    ("GET", HOOK): Case(params=_hook),
    ("PATCH", HOOK): Case(params=_hook, body=lambda w: {"description": "changed"}),
    ("DELETE", HOOK): Case(params=_hook),
    ("POST", f"{HOOK}/rotate-secret"): Case(params=_hook),
    ("GET", f"{HOOK}/deliveries"): Case(params=_hook, query=lambda w: {"status": "dead"}),
    ("POST", f"{HOOK}/deliveries/{{delivery_id}}/retry"): Case(
        params=lambda w: {
            "webhook_id": a_objects(w)["webhook_id"],
            "delivery_id": a_objects(w)["delivery_id"],
        }
    ),
}
