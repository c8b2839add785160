"""The events outbox: what happened, written in the transaction of the change itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base, IdMixin
from kerops.core.types import utcnow


class Event(IdMixin, Base):
    """One domain event (``ticket.created``, ``sla.breached``, ...), delivered by jobs."""

    __tablename__ = "events"
    __audited__: ClassVar[bool] = False
    __table_args__ = (Index("ix_events_dispatched_at_created_at", "dispatched_at", "created_at"),)

    #: The client the event belongs to (None: a platform or vendor event).
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE")
    )
    locale_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locales.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(64))
    #: The object the event is about (a ticket, a plan, a device, a certification).
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set once every subscriber handled the event.
    dispatched_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
