"""Notifications: in-app messages per user, webhook subscriptions and their deliveries, and the
certification reminders already sent."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum, utcnow


class EmailState(enum.StrEnum):
    """Where the email copy of a notification stands."""

    none = "none"  # not emailed (email off, or the user has no address)
    pending = "pending"  # to send (a job is on its way; the sweep picks up lost ones)
    sending = "sending"  # claimed by a job (a crashed one's claim expires)
    sent = "sent"
    failed = "failed"  # gave up after repeated errors


class DeliveryStatus(enum.StrEnum):
    """Where one webhook delivery stands."""

    pending = "pending"  # not tried yet
    sending = "sending"  # claimed by a delivery run (a crashed run's claim expires)
    failed = "failed"  # the last attempt failed; retried at ``next_attempt_at``
    succeeded = "succeeded"
    dead = "dead"  # out of attempts: kept for a manual retry


class Notification(IdMixin, Base):
    """One in-app message to one user about one event (at most one per event and user)."""

    __tablename__ = "notifications"
    # Derived from events by a job and private to the recipient: not written to the audit log.
    __audited__: ClassVar[bool] = False
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        Index("ix_notifications_email_state_created_at", "email_state", "created_at"),
        # The app's sync of an inbox (``updated_since``).
        Index("ix_notifications_user_id_updated_at", "user_id", "updated_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The client the event belongs to (None: a vendor's or the platform's).
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None]
    #: Where the object lives in the app (a path such as ``/tickets/{id}``).
    link: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Moves with every change (read, emailed): what an app's sync compares.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    email_state: Mapped[EmailState] = mapped_column(StrEnum(EmailState), default=EmailState.none)
    email_attempts: Mapped[int] = mapped_column(default=0)
    #: Sent at; while ``sending``, the time the claim was taken.
    emailed_at: Mapped[datetime | None]


class WebhookSubscription(IdMixin, TimestampMixin, Base):
    """A client's endpoint receiving the events it chose, signed with a shared secret."""

    __tablename__ = "webhook_subscriptions"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"secret_encrypted"})

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    #: Event types delivered (``ticket.created``, ...).
    event_types: Mapped[list[str]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(String(500), default="")
    #: The signing secret, encrypted with the server key (shown in clear once, when made).
    secret_encrypted: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)


class WebhookDelivery(IdMixin, Base):
    """One event sent (or to send) to one subscription, with its attempts."""

    __tablename__ = "webhook_deliveries"
    __audited__: ClassVar[bool] = False
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_id_created_at", "subscription_id", "created_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[DeliveryStatus] = mapped_column(
        StrEnum(DeliveryStatus), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    #: When the next attempt is due (pending, failed); while ``sending``, when the claim expires.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    #: How long the last attempt took, in milliseconds.
    last_duration_ms: Mapped[int | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificationReminder(IdMixin, Base):
    """A reminder already sent: one per licence, expiry date and threshold (60, 30, 7 days)."""

    __tablename__ = "certification_reminders"
    __audited__: ClassVar[bool] = False
    # Named here: the conventional names would pass PostgreSQL's 63-character limit.
    __table_args__ = (
        UniqueConstraint(
            "certification_id",
            "expires_date",
            "days_before",
            name="uq_certification_reminders_once",
        ),
    )

    certification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(
            "technician_certifications.id",
            ondelete="CASCADE",
            name="fk_certification_reminders_certification_id",
        )
    )
    expires_date: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int]
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
