"""What auth plugs into core: the rules of API keys and identity providers, and the check of a
request's credentials (``kerops.auth.principals``). And into users: an invitation's one-time
link, and the end of a deactivated user's sign-in sessions."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from kerops.auth import (
    invitations,
    principals,  # noqa: F401  (registers the authenticator with core)
    tokens,
)
from kerops.auth.models import ApiKey, IdentityProvider
from kerops.core import access
from kerops.core.access import Action
from kerops.core.enums import UserRole
from kerops.core.principal import Principal
from kerops.users import service as user_service


@access.rule(ApiKey)
def _api_keys(p: Principal, action: Action) -> ColumnElement[bool]:
    return ApiKey.user_id == p.user_id


@access.rule(IdentityProvider)
def _identity_providers(p: Principal, action: Action) -> ColumnElement[bool]:
    # Administrators only: a client owner those of the client, a vendor admin those of the vendor.
    # Platform providers (neither id set) are staff's alone; a null id must never match them.
    if p.is_client_admin and p.client_id is not None:
        return IdentityProvider.client_id == p.client_id
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return IdentityProvider.vendor_id == p.vendor_id
    return false()


user_service.invitation_link(invitations.invitation_link)
user_service.on_deactivated(tokens.end_sessions_of)
