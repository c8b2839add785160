"""Who is calling: the authenticated principal and the audit context of a request."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from kerops.core.enums import ClientRole, UserRole


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
    #: A client member's client-wide role (ignored for any other role).
    client_role: ClientRole | None = None
    #: The user's own language (None: not chosen) and their client's default language, so the
    #: request's language is chosen without another query (``kerops.core.i18n.choose``).
    language: str | None = None
    client_language: str | None = None

    @property
    def is_staff(self) -> bool:
        """Platform staff (super admin) see and do everything."""
        return self.role is UserRole.super_admin

    @property
    def is_client_owner(self) -> bool:
        """The owner of a client (one per client; only they hand it over)."""
        return self.role is UserRole.client_owner

    @property
    def is_client_admin(self) -> bool:
        """Holds the owner's rights over the client: its owner, or a member with the client-wide
        admin role (all but closing the account and handing over ownership)."""
        return self.role is UserRole.client_owner or self._client_role is ClientRole.admin

    @property
    def _client_role(self) -> ClientRole | None:
        return self.client_role if self.role is UserRole.client_member else None

    def reaches_every_locale(self, action: Literal["read", "write"]) -> bool:
        """Whether the principal may ``action`` every locale of its client (and what they hold),
        whatever its locale memberships: the owner and an admin; a client-wide manager; a
        client-wide viewer, to read."""
        if self.client_id is None:
            return False
        if self.is_client_admin or self._client_role is ClientRole.manager:
            return True
        return action == "read" and self._client_role is ClientRole.viewer

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


class PrincipalCache:
    """Principals of recent access tokens, so a request need not read the user's row again.

    Keyed by (user, sign-in session), each entry lives ``ttl`` seconds (0: nothing is kept).
    Any change to users, sign-in sessions or API keys committed through this app's sessions
    empties it (``kerops.core.db``); a change made elsewhere (another process, plain SQL) is
    seen at most ``ttl`` seconds later. A principal read before such a change is not stored
    after it (``generation``).
    """

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[tuple[uuid.UUID, uuid.UUID | None], tuple[float, Principal]] = {}

    def get(self, user_id: uuid.UUID, session_id: uuid.UUID | None) -> Principal | None:
        """The cached principal, if fresh."""
        entry = self._entries.get((user_id, session_id))
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop((user_id, session_id), None)
            return None
        return entry[1]

    def put(self, principal: Principal, *, generation: int) -> None:
        """Keep ``principal`` (read while the cache was at ``generation``)."""
        if self.ttl <= 0 or generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        key = (principal.user_id, principal.session_id)
        self._entries[key] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        """Forget every principal (users, sessions or keys changed)."""
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
