"""Who is calling: the authenticated principal and the audit context of a request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from kerops.core.enums import UserRole


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: a user, possibly acting through an API key with limited scopes."""

    user_id: uuid.UUID
    role: UserRole
    client_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[str] | None = None  # None: an interactive login with the user's full rights
    session_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        """Platform staff (super admin) see and do everything."""
        return self.role is UserRole.super_admin

    @property
    def is_client_owner(self) -> bool:
        """The owner account of a client."""
        return self.role is UserRole.client_owner

    def has_scope(self, scope: str) -> bool:
        """Whether an API key principal holds ``scope`` (interactive logins hold every scope)."""
        return self.scopes is None or scope in self.scopes


@dataclass(slots=True)
class AuditContext:
    """What the audit log records about the origin of a change."""

    actor_user_id: uuid.UUID | None = None
    actor_api_key_id: uuid.UUID | None = None
    request_id: str | None = None
    ip_address: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
