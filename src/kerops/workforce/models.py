"""Workforce: technicians' shifts and legal licences."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import ShiftType
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.storage.sweep import stored_files
from kerops.core.types import StrEnum


class TechnicianShift(IdMixin, TimestampMixin, Base):
    """A span of a technician's time: working, day off, sick leave or vacation (no overlaps)."""

    __tablename__ = "technician_shifts"
    __table_args__ = (
        Index("ix_technician_shifts_technician_id_starts_at", "technician_id", "starts_at"),
    )

    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), index=True
    )
    shift_type: Mapped[ShiftType] = mapped_column(StrEnum(ShiftType))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    notes: Mapped[str] = mapped_column(Text, default="")


class TechnicianCertification(IdMixin, TimestampMixin, Base):
    """A legal licence of a technician (e.g. SEC electrical class A/B/C/D, gas, heights)."""

    __tablename__ = "technician_certifications"
    __table_args__ = (Index("ix_technician_certifications_expires_date", "expires_date"),)

    technician_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), index=True
    )
    cert_type: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(200), default="")
    issued_date: Mapped[date | None] = mapped_column(Date)
    expires_date: Mapped[date | None] = mapped_column(Date)
    document_key: Mapped[str | None] = mapped_column(String(255))
    verified_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    verified_at: Mapped[datetime | None]


# Its objects: ``{owner}/certifications/{id}/{name}`` (the orphan sweep reads this).
stored_files("certifications", TechnicianCertification.document_key)
