"""Routes under /notifications (the caller's inbox) and /webhooks (the client's subscriptions)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep, StateDep, require_scope
from kerops.core.documents import Document
from kerops.core.filtering import UpdatedSince
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.principal import Principal
from kerops.idempotency.http import not_replayable
from kerops.notifications import service, webhooks
from kerops.notifications.models import DeliveryStatus, Notification, WebhookDelivery
from kerops.notifications.schemas import (
    DeliveryRead,
    MarkedRead,
    NotificationRead,
    UnreadCount,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)

notifications_router = APIRouter(prefix="/notifications", tags=["notifications"])
webhooks_router = APIRouter(prefix="/webhooks", tags=["webhooks"])

NotificationPage = Annotated[PageParams, sorted_by(service.NOTIFICATION_SORTS)]
WebhookPage = Annotated[PageParams, sorted_by(webhooks.WEBHOOK_SORTS)]
DeliveryPage = Annotated[PageParams, sorted_by(webhooks.DELIVERY_SORTS)]
NOTIFICATION_DOCUMENT = Document(Notification, NotificationRead)

#: Webhooks hold a signing secret and send the client's data out: API keys need "admin".
WebhookAdminDep = Annotated[Principal, Depends(require_scope("admin"))]


# --- notifications -------------------------------------------------------------------------------


@notifications_router.get("", response_model=Page[NotificationRead])
async def list_notifications(
    reader: ReaderDep,
    page: NotificationPage,
    unread: Annotated[
        bool | None, Query(description="Only unread (true) or only read (false) ones")
    ] = None,
    type: Annotated[
        str | None, Query(max_length=64, description="Only notifications of this event type")
    ] = None,
    updated_since: UpdatedSince = None,
) -> Response:
    """Your notifications, newest first."""
    items, cursor = await service.list_notifications(
        reader, params=page, unread=unread, event_type=type, updated_since=updated_since
    )
    return await reader.respond_page(NOTIFICATION_DOCUMENT, items, cursor)


@notifications_router.get("/unread-count", response_model=UnreadCount)
async def unread_count(principal: PrincipalDep, session: SessionDep) -> UnreadCount:
    """How many of your notifications are unread."""
    return UnreadCount(unread=await service.unread_count(session, principal=principal))


@notifications_router.post("/read-all", response_model=MarkedRead)
async def mark_all_read(principal: PrincipalDep, session: SessionDep) -> MarkedRead:
    """Mark all your notifications read."""
    return MarkedRead(updated=await service.mark_all_read(session, principal=principal))


@notifications_router.post("/{notification_id}/read", response_model=NotificationRead)
async def mark_read(
    notification_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> Notification:
    """Mark one of your notifications read."""
    return await service.mark_read(session, principal=principal, notification_id=notification_id)


# --- webhooks ------------------------------------------------------------------------------------


@webhooks_router.post("", response_model=WebhookWithSecret, status_code=status.HTTP_201_CREATED)
@not_replayable
async def create_webhook(
    body: WebhookCreate, principal: WebhookAdminDep, state: StateDep, session: SessionDep
) -> WebhookWithSecret:
    """Subscribe a URL to events (client owners); its signing secret is shown only here."""
    subscription, secret = await webhooks.create_subscription(
        session, principal=principal, settings=state.settings, security=state.security, data=body
    )
    return WebhookWithSecret(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)


@webhooks_router.get("", response_model=Page[WebhookRead])
async def list_webhooks(
    principal: WebhookAdminDep,
    session: SessionDep,
    page: WebhookPage,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive")] = None,
) -> Page[WebhookRead]:
    """The webhooks you manage."""
    items, cursor = await webhooks.list_subscriptions(
        session, principal=principal, params=page, active=active
    )
    return Page[WebhookRead](
        items=[WebhookRead.model_validate(s) for s in items], next_cursor=cursor
    )


@webhooks_router.get("/{webhook_id}", response_model=WebhookRead)
async def get_webhook(
    webhook_id: uuid.UUID, principal: WebhookAdminDep, session: SessionDep
) -> WebhookRead:
    """One webhook."""
    subscription = await webhooks.get_subscription(
        session, principal=principal, subscription_id=webhook_id
    )
    return WebhookRead.model_validate(subscription)


@webhooks_router.patch("/{webhook_id}", response_model=WebhookRead)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    principal: WebhookAdminDep,
    state: StateDep,
    session: SessionDep,
) -> WebhookRead:
    """Change a webhook's URL, events, description or active flag."""
    subscription = await webhooks.update_subscription(
        session,
        principal=principal,
        settings=state.settings,
        subscription_id=webhook_id,
        data=body,
    )
    return WebhookRead.model_validate(subscription)


@webhooks_router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: uuid.UUID, principal: WebhookAdminDep, session: SessionDep
) -> None:
    """Remove a webhook and its deliveries."""
    await webhooks.delete_subscription(session, principal=principal, subscription_id=webhook_id)


@webhooks_router.post("/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
@not_replayable
async def rotate_webhook_secret(
    webhook_id: uuid.UUID, principal: WebhookAdminDep, state: StateDep, session: SessionDep
) -> WebhookWithSecret:
    """Replace a webhook's signing secret; the new one is shown only here."""
    subscription, secret = await webhooks.rotate_secret(
        session, principal=principal, security=state.security, subscription_id=webhook_id
    )
    return WebhookWithSecret(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)


@webhooks_router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryRead])
async def list_deliveries(
    webhook_id: uuid.UUID,
    principal: WebhookAdminDep,
    session: SessionDep,
    page: DeliveryPage,
    delivery_status: Annotated[
        DeliveryStatus | None,
        Query(alias="status", description="Only this status; 'dead' lists the dead letters"),
    ] = None,
) -> Page[DeliveryRead]:
    """A webhook's deliveries, newest first."""
    items, cursor = await webhooks.list_deliveries(
        session,
        principal=principal,
        subscription_id=webhook_id,
        params=page,
        status=delivery_status,
    )
    return Page[DeliveryRead](
        items=[DeliveryRead.model_validate(d) for d in items], next_cursor=cursor
    )


@webhooks_router.post("/{webhook_id}/deliveries/{delivery_id}/retry", response_model=DeliveryRead)
async def retry_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, principal: WebhookAdminDep, session: SessionDep
) -> WebhookDelivery:
    """Send a failed or dead delivery again now, with a fresh set of attempts."""
    return await webhooks.retry_delivery(
        session, principal=principal, subscription_id=webhook_id, delivery_id=delivery_id
    )
