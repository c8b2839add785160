"""Credentials: API keys, one-time codes, refresh tokens and OIDC identity providers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import utcnow


class ApiKey(IdMixin, TimestampMixin, Base):
    """An integration key acting as its owner within its scopes; only its hash is kept."""

    __tablename__ = "api_keys"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"key_hash"})

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class OtpCode(IdMixin, Base):
    """A one-time code (login by email/SMS, invitation link): hashed, short-lived, single use."""

    __tablename__ = "otp_codes"
    __audited__: ClassVar[bool] = False

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(254), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(IdMixin, Base):
    """One refresh token of a login session ("family"); re-use of a spent one revokes the family."""

    __tablename__ = "refresh_tokens"
    __audited__: ClassVar[bool] = False

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityProvider(IdMixin, TimestampMixin, Base):
    """An OIDC provider for single sign-on, owned by a client, a vendor or the platform."""

    __tablename__ = "identity_providers"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"client_secret_encrypted"})

    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str] = mapped_column(String(500))
    oidc_client_id: Mapped[str] = mapped_column(String(255))
    client_secret_encrypted: Mapped[str] = mapped_column(String(1024))
    scopes: Mapped[str] = mapped_column(String(255), default="openid email profile")
    allowed_domains: Mapped[list[str]] = mapped_column(default=list)
    auto_provision: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
