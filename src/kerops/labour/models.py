"""Labour: technicians' work logs on tickets and the hourly rates they are costed at."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import WorkLogCategory
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum


class TicketWorkLog(IdMixin, TimestampMixin, Base):
    """A span of a technician's time on a ticket. ``ended_at`` is null while its timer runs
    (at most one running per technician); ``minutes`` and ``cost_minor`` are set when it ends.
    A technician's logs never overlap."""

    __tablename__ = "ticket_work_logs"
    __table_args__ = (
        Index("ix_ticket_work_logs_client_id_started_at_id", "client_id", "started_at", "id"),
        Index("ix_ticket_work_logs_technician_id_started_at", "technician_id", "started_at"),
        Index("ix_ticket_work_logs_ticket_id_started_at", "ticket_id", "started_at"),
        Index(
            "uq_ticket_work_logs_running_technician_id",
            "technician_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE")
    )
    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="SET NULL")
    )
    category: Mapped[WorkLogCategory] = mapped_column(
        StrEnum(WorkLogCategory), default=WorkLogCategory.work
    )
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    #: Whole minutes worked (ended - started, or the duration entered); null while running.
    minutes: Mapped[int | None]
    hourly_rate_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CLP")
    #: minutes * hourly rate / 60, rounded half up; 0 while running.
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    billable: Mapped[bool] = mapped_column(default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class LabourRate(IdMixin, TimestampMixin, Base):
    """An hourly rate of a client: a technician's own, or a vendor's rate card line. ``category``
    null applies to every category the rate has no line of its own for."""

    __tablename__ = "labour_rates"
    __table_args__ = (
        Index("ix_labour_rates_client_id_technician_id", "client_id", "technician_id"),
        Index("ix_labour_rates_client_id_vendor_id", "client_id", "vendor_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    technician_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE")
    )
    category: Mapped[WorkLogCategory | None] = mapped_column(StrEnum(WorkLogCategory))
    hourly_rate_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CLP")
