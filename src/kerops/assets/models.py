"""Assets: equipment per locale (a tree), its status history, parts list and maintenance plans."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import AssetStatus, TicketPriority
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum, utcnow
from kerops.customfields.models import values_column, values_index


class Asset(IdMixin, TimestampMixin, Base):
    """A piece of equipment at a locale, optionally in an area and under a parent asset."""

    __tablename__ = "assets"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"qr_code"})
    __table_args__ = (
        Index("ix_assets_client_id_locale_id_name", "client_id", "locale_id", "name"),
        Index("ix_assets_client_id_name_id", "client_id", "name", "id"),
        values_index("assets"),
        # An asset's own code (a tag painted on it): how a spreadsheet import finds it again.
        UniqueConstraint("client_id", "code"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("locales.id", ondelete="CASCADE"), index=True
    )
    area_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("local_areas.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(64), default="")
    make: Mapped[str] = mapped_column(String(120), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    serial_number: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[AssetStatus] = mapped_column(
        StrEnum(AssetStatus), default=AssetStatus.operational
    )
    install_date: Mapped[date | None] = mapped_column(Date)
    warranty_end_date: Mapped[date | None] = mapped_column(Date)
    criticality: Mapped[int] = mapped_column(default=3)
    meter_readings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_maintenance_at: Mapped[datetime | None]
    next_maintenance_at: Mapped[datetime | None]
    qr_code: Mapped[str] = mapped_column(String(64), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: Values of the client's custom fields of assets, by code (``kerops.customfields``).
    custom_fields: Mapped[dict[str, Any]] = values_column()


class AssetStatusChange(IdMixin, Base):
    """One status change of an asset (operational → down → operational): the downtime record."""

    __tablename__ = "asset_status_changes"
    __table_args__ = (
        Index("ix_asset_status_changes_asset_id_changed_at", "asset_id", "changed_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    from_status: Mapped[AssetStatus | None] = mapped_column(StrEnum(AssetStatus))
    to_status: Mapped[AssetStatus] = mapped_column(StrEnum(AssetStatus))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text, default="")


class AssetBOM(IdMixin, TimestampMixin, Base):
    """A part (product) and how many of it an asset is built with."""

    __tablename__ = "asset_bom"
    __table_args__ = (UniqueConstraint("asset_id", "product_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=1)
    notes: Mapped[str] = mapped_column(Text, default="")


class AssetMaintenancePlan(IdMixin, TimestampMixin, Base):
    """Preventive maintenance of an asset, due by date (calendar or after completion) or meter."""

    __tablename__ = "asset_maintenance_plans"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(String(16), default="date")  # date | meter
    interval_unit: Mapped[str | None] = mapped_column(String(8))  # day | week | month | year
    interval_count: Mapped[int | None]
    anchor: Mapped[str] = mapped_column(String(16), default="calendar")  # calendar | completion
    start_date: Mapped[date | None] = mapped_column(Date)
    meter_name: Mapped[str | None] = mapped_column(String(64))
    meter_interval: Mapped[float | None]
    next_meter_due: Mapped[float | None]
    lead_time_days: Mapped[int] = mapped_column(default=0)
    checklist_template: Mapped[list[Any]] = mapped_column(JSON, default=list)
    default_priority: Mapped[TicketPriority] = mapped_column(
        StrEnum(TicketPriority), default=TicketPriority.medium
    )
    required_skill: Mapped[str | None] = mapped_column(String(32))
    default_assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    last_completed_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # Preventive maintenance (kerops.automation.pm): set while the plan's last generated tickets
    # were never started; cleared when one of its tickets is completed.
    neglected_since: Mapped[datetime | None]
    neglect_reason: Mapped[str | None] = mapped_column(String(300))


class PlanOccurrence(IdMixin, Base):
    """One due occurrence of a maintenance plan and the ticket it generated (never two)."""

    __tablename__ = "plan_occurrences"
    __table_args__ = (UniqueConstraint("plan_id", "occurrence_key"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    plan_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("asset_maintenance_plans.id", ondelete="CASCADE")
    )
    #: ``date:<due instant, UTC ISO>`` or ``meter:<threshold>``: what makes the occurrence unique.
    occurrence_key: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    meter_value: Mapped[float | None]
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
