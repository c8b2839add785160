"""IoT devices attached to assets (readings ingestion arrives with the automation module)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base, IdMixin, TimestampMixin


class IoTDevice(IdMixin, TimestampMixin, Base):
    """A sensor on an asset: type, unit, thresholds, last contact and a device credential."""

    __tablename__ = "iot_devices"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"credential_hash"})
    __table_args__ = (UniqueConstraint("client_id", "serial_number"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("locales.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    device_type: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(16))
    serial_number: Mapped[str] = mapped_column(String(120))
    min_threshold: Mapped[float | None]
    max_threshold: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | inactive | fault
    last_seen_at: Mapped[datetime | None]
    credential_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
