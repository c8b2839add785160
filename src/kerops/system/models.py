"""System tables: typed settings, plan limits and mobile app versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import SubscriptionPlan
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum, utcnow


class Setting(IdMixin, TimestampMixin, Base):
    """A platform key/value setting with a declared type."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(120), unique=True)
    value_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")


class PlanLimit(IdMixin, TimestampMixin, Base):
    """Limits of one subscription plan; ``None`` means unlimited."""

    __tablename__ = "plan_limits"

    plan: Mapped[SubscriptionPlan] = mapped_column(StrEnum(SubscriptionPlan), unique=True)
    max_locales: Mapped[int | None]
    max_users: Mapped[int | None]
    max_assets: Mapped[int | None]
    max_iot_devices: Mapped[int | None]
    max_storage_mb: Mapped[int | None]


class AppVersion(IdMixin, TimestampMixin, Base):
    """A mobile/web app release with the minimum version still supported."""

    __tablename__ = "app_versions"
    __table_args__ = (UniqueConstraint("platform", "version"),)

    platform: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    min_supported_version: Mapped[str] = mapped_column(String(32))
    release_notes: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    released_at: Mapped[datetime] = mapped_column(default=utcnow)
