"""IoT devices attached to assets, their readings and the threshold rules evaluated on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import TicketPriority
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum


class IoTDevice(IdMixin, TimestampMixin, Base):
    """A sensor on an asset: type, unit, thresholds, last contact and a device credential."""

    __tablename__ = "iot_devices"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"credential_hash"})
    __table_args__ = (UniqueConstraint("client_id", "serial_number"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
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
    #: Metrics the device sends besides its ``device_type`` (in ``unit``): name -> unit.
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


#: Readings identified by device, metric and device time (no ``message_id``, time given).
TIMED_WITHOUT_MESSAGE_ID = text("message_id IS NULL AND device_time <> received_at")


class IoTReading(Base):
    """One measurement of a device: its metric, value, the device's time and our arrival time.

    Written in bulk (Core inserts, no ORM object or audit row per reading), read by time range
    through ``(device_id, metric, device_time)``. A re-sent reading is a no-op: by its
    ``message_id`` when it has one, else by ``(device_id, metric, device_time)`` when the device
    gave the time. A reading with neither has no identity (its device time is its arrival time,
    ``device_time = received_at``) and is always stored.
    """

    __tablename__ = "iot_readings"
    __audited__: ClassVar[bool] = False
    __table_args__ = (
        Index("ix_iot_readings_device_id_metric_device_time", "device_id", "metric", "device_time"),
        UniqueConstraint("device_id", "message_id"),
        Index(
            "uq_iot_readings_device_id_metric_device_time",
            "device_id",
            "metric",
            "device_time",
            unique=True,
            sqlite_where=TIMED_WITHOUT_MESSAGE_ID,
            postgresql_where=TIMED_WITHOUT_MESSAGE_ID,
        ),
        # The retention sweep finds old rows by time: a BRIN on PostgreSQL (tiny, rows arrive
        # roughly in time order), a plain index elsewhere.
        Index("ix_iot_readings_device_time", "device_time", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("iot_devices.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Double())
    #: When the device says it measured (its clock may be off).
    device_time: Mapped[datetime]
    #: When the reading reached us.
    received_at: Mapped[datetime]
    #: The device's own id of the reading (idempotency), when it sends one.
    message_id: Mapped[str | None] = mapped_column(String(64))


class IoTRule(IdMixin, TimestampMixin, Base):
    """A threshold rule on one metric of a device; when it trips, the asset gets a ticket.

    The state columns (``state`` to ``trip_count``) are written by evaluation with plain updates
    under a row lock, so one trip opens at most one ticket whatever runs concurrently.
    """

    __tablename__ = "iot_rules"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("iot_devices.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # above | below | outside | rate | no_data
    threshold: Mapped[float | None] = mapped_column(Double())
    low: Mapped[float | None] = mapped_column(Double())
    high: Mapped[float | None] = mapped_column(Double())
    #: How far back inside the limit a value must come before the rule clears.
    hysteresis: Mapped[float] = mapped_column(Double(), default=0.0)
    no_data_minutes: Mapped[int | None]
    #: After a trip, further trips within this many minutes do nothing.
    cooldown_minutes: Mapped[int] = mapped_column(default=15)
    priority: Mapped[TicketPriority] = mapped_column(
        StrEnum(TicketPriority), default=TicketPriority.high
    )
    is_enabled: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(16), default="ok")  # ok | tripped
    last_value: Mapped[float | None] = mapped_column(Double())
    last_tripped_at: Mapped[datetime | None]
    last_cleared_at: Mapped[datetime | None]
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="SET NULL")
    )
    trip_count: Mapped[int] = mapped_column(default=0)
