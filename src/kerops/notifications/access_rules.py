"""What notifications plugs into core: the rules of inboxes and webhooks (a subscription's
deliveries follow it, as the reminders sent of a certification follow the certification)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from kerops.core import access
from kerops.core.access import Action
from kerops.core.principal import Principal
from kerops.notifications.models import (
    CertificationReminder,
    Notification,
    WebhookDelivery,
    WebhookSubscription,
)
from kerops.workforce.models import TechnicianCertification


@access.rule(Notification)
def _notifications(p: Principal, action: Action) -> ColumnElement[bool]:
    # An inbox is personal: its owner reads it and marks it read, nobody else.
    return Notification.user_id == p.user_id


@access.rule(WebhookSubscription)
def _webhook_subscriptions(p: Principal, action: Action) -> ColumnElement[bool]:
    # Webhooks carry the client's data to its own systems: its owner and admins manage them.
    if p.is_client_admin and p.client_id is not None:
        return WebhookSubscription.client_id == p.client_id
    return false()


access.follows(WebhookDelivery, WebhookDelivery.subscription_id, WebhookSubscription)
access.follows(
    CertificationReminder, CertificationReminder.certification_id, TechnicianCertification
)
