"""Reports: a file made as a job (an export, a monthly report), and scheduled reports with the
periods they were sent for."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import ReportFrequency, ReportStatus
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum, utcnow


class Report(IdMixin, TimestampMixin, Base):
    """A report file asked for (``POST /reports``) or sent by a schedule: what it holds (``kind``
    and ``filters``, as the list's own query parameters), its format, language and time zone,
    and once written its stored file until ``expires_at``."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_client_id_created_at_id", "client_id", "created_at", "id"),
        Index("ix_reports_status_expires_at", "status", "expires_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str] = mapped_column(String(16), default="es-CL")
    timezone: Mapped[str] = mapped_column(String(64), default="America/Santiago")
    status: Mapped[ReportStatus] = mapped_column(StrEnum(ReportStatus), default=ReportStatus.queued)
    row_count: Mapped[int | None]
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None]
    storage_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class ReportSchedule(IdMixin, TimestampMixin, Base):
    """A report a client sends itself: ``kind``, ``filters`` and ``format`` as a report's, the
    relative ``period`` it covers (``last_week``, ``last_month``...), when it is sent (weekly on
    ``weekday`` 0 = Monday, or monthly on ``day_of_month``, at ``time_of_day`` in ``timezone``)
    and to whom (``recipients``: the client's members' ids)."""

    __tablename__ = "report_schedules"
    __table_args__ = (
        Index("ix_report_schedules_is_active_next_run_at", "is_active", "next_run_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locales.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    period: Mapped[str] = mapped_column(String(16))
    frequency: Mapped[ReportFrequency] = mapped_column(StrEnum(ReportFrequency))
    weekday: Mapped[int | None]
    day_of_month: Mapped[int | None]
    time_of_day: Mapped[time] = mapped_column(Time())
    timezone: Mapped[str] = mapped_column(String(64), default="America/Santiago")
    language: Mapped[str | None] = mapped_column(String(16))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    skip_empty: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class ReportDelivery(IdMixin, Base):
    """A schedule's period, sent once: the unique (schedule, period start) makes a second
    scheduler's attempt at the same period write nothing."""

    __tablename__ = "report_deliveries"
    __table_args__ = (UniqueConstraint("schedule_id", "period_start"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("report_schedules.id", ondelete="CASCADE")
    )
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    report_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL")
    )
    #: sent, or skipped (empty and the schedule skips empty reports)
    outcome: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
