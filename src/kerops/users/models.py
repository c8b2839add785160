"""Accounts: clients, users and vendors (contractor companies)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import ClientRole, SubscriptionPlan, UserRole
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum


class Client(IdMixin, TimestampMixin, Base):
    """A client organisation: its id is the ``client_id`` of every row it holds. Its owner is
    one of its users (``users.role`` client_owner); handing ownership over changes this row and
    the two users' roles, nothing else. The plan is the client's."""

    __tablename__ = "clients"

    name: Mapped[str] = mapped_column(String(200))
    # Deferred: a new client's row and its owner's row point at each other, written in one
    # transaction.
    owner_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "users.id",
            ondelete="RESTRICT",
            use_alter=True,
            deferrable=True,
            initially="DEFERRED",
        ),
        index=True,
    )
    plan: Mapped[SubscriptionPlan] = mapped_column(
        StrEnum(SubscriptionPlan), default=SubscriptionPlan.free
    )
    #: The language its people are answered in when they chose none and their browser names
    #: neither Spanish nor English (``kerops.core.i18n.LANGUAGES``).
    language: Mapped[str] = mapped_column(String(16), default="es-CL", server_default="es-CL")


class Vendor(IdMixin, TimestampMixin, Base):
    """A contractor company; ``client_id`` is null for KER's platform-wide vendor network."""

    __tablename__ = "vendors"
    __table_args__ = (UniqueConstraint("client_id", "rut"),)

    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    rut: Mapped[str] = mapped_column(String(12))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)


class User(IdMixin, TimestampMixin, Base):
    """A person; ``client_id`` is the client they belong to (its owner among them)."""

    __tablename__ = "users"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"password_hash"})

    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(StrEnum(UserRole), index=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    #: A client member's client-wide role (``ClientRole``), beside any locale memberships.
    client_role: Mapped[ClientRole | None] = mapped_column(StrEnum(ClientRole))
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="SET NULL"), index=True
    )
    skills: Mapped[list[str]] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    #: The person's own language; None: the browser's, else the client's default.
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Santiago")
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    email_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


Index("ix_users_client_id_role", User.client_id, User.role)
