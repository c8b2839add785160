"""What notifications plugs into core: the rules of inboxes and webhooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false

from kerops.core import access
from kerops.core.access import Action, Rule
from kerops.core.principal import Principal
from kerops.notifications.models import Notification, WebhookDelivery, WebhookSubscription


def _register(rules: dict[Any, Rule]) -> None:
    for model, fn in rules.items():
        access.rule(model)(fn)


@access.rule(Notification)
def _notifications(p: Principal, action: Action) -> ColumnElement[bool]:
    # An inbox is personal: its owner reads it and marks it read, nobody else.
    return Notification.user_id == p.user_id


def _client_owner_rule(model: Any) -> Rule:
    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        # Webhooks carry the client's data to its own systems: its owner alone manages them.
        if p.is_client_admin and p.client_id is not None:
            return model.client_id == p.client_id  # type: ignore[no-any-return]
        return false()

    return fn


_register({model: _client_owner_rule(model) for model in (WebhookSubscription, WebhookDelivery)})
