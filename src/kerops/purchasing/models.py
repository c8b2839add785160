"""Purchasing: purchase orders, their lines and history, approval rules and settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import PurchaseOrderStatus
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import Quantity, StrEnum, utcnow


class PurchaseOrder(IdMixin, TimestampMixin, Base):
    """An order to a vendor for a destination warehouse. Its amounts (net, IVA, total, in
    integer minor units of ``currency``) are computed by the server from its lines.
    ``proposed`` marks a draft the reorder job wrote."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        UniqueConstraint("client_id", "number"),
        Index("ix_purchase_orders_client_id_status", "client_id", "status"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    vendor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendors.id", ondelete="RESTRICT"), index=True
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), index=True
    )
    currency: Mapped[str] = mapped_column(String(3), default="CLP")
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        StrEnum(PurchaseOrderStatus), default=PurchaseOrderStatus.draft
    )
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    expected_on: Mapped[date | None]
    proposed: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    submitted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    ordered_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    #: The e-mail to the vendor: claimed by a send job until this time, and when it went.
    email_claimed_until: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]


class PurchaseOrderLine(IdMixin, TimestampMixin, Base):
    """A line of an order: a stocked product (received into the order's warehouse) or, without
    ``product_id``, a free-text service line. ``net_minor`` = quantity times unit price, rounded
    half up to the currency's minor unit."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (Index("ix_purchase_order_lines_order_id_position", "order_id", "position"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    received: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))


class PurchaseOrderEvent(IdMixin, Base):
    """One move of an order (or a receipt), with who made it, when and why."""

    __tablename__ = "purchase_order_events"
    __table_args__ = (
        Index("ix_purchase_order_events_order_id_created_at", "order_id", "created_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE")
    )
    from_status: Mapped[PurchaseOrderStatus | None] = mapped_column(StrEnum(PurchaseOrderStatus))
    to_status: Mapped[PurchaseOrderStatus] = mapped_column(StrEnum(PurchaseOrderStatus))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PurchaseApprovalRule(IdMixin, TimestampMixin, Base):
    """Orders of ``min_total_minor`` or more (in ``currency``) need an approver with
    ``role`` (a ``ClientRole`` value, or ``owner``); the rule with the highest threshold an
    order reaches applies."""

    __tablename__ = "purchase_approval_rules"
    __table_args__ = (UniqueConstraint("client_id", "currency", "min_total_minor"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    currency: Mapped[str] = mapped_column(String(3), default="CLP")
    min_total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    role: Mapped[str] = mapped_column(String(32))


class PurchasingSettings(IdMixin, TimestampMixin, Base):
    """A client's purchasing settings: how far a receipt may exceed the ordered quantity (in
    percent of the line, 0 = not at all)."""

    __tablename__ = "purchasing_settings"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), unique=True
    )
    over_receipt_percent: Mapped[int] = mapped_column(Integer, default=0)
