"""Inventory: the product catalogue, warehouses, stock levels and the ledger of movements."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import (
    MovementDocument,
    MovementKind,
    ProductCategory,
    StockCountStatus,
    WarehouseKind,
)
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import Quantity, StrEnum, utcnow


class Product(IdMixin, TimestampMixin, Base):
    """A catalogue item: kit, sensor, fee, hour or spare part; money in integer minor units.

    ``client_id`` is null for KER's own catalogue (kits, sensors, fees it sells). ``unit`` is
    a code of ``kerops.inventory.units.UNITS`` (how many decimals a quantity of it may have).
    Only ``is_stocked`` products are kept in warehouses (a service or a fee is not).
    """

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("client_id", "sku"),
        UniqueConstraint("client_id", "barcode"),
    )

    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[ProductCategory] = mapped_column(StrEnum(ProductCategory))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(16), default="unit")
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CLP")
    is_active: Mapped[bool] = mapped_column(default=True)
    #: EAN-13, EAN-8, UPC-A or GTIN-14 digits, check digit verified.
    barcode: Mapped[str | None] = mapped_column(String(14))
    preferred_vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="SET NULL"), index=True
    )
    vendor_sku: Mapped[str] = mapped_column(String(64), default="", server_default="")
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_stocked: Mapped[bool] = mapped_column(default=True, server_default=text("true"))


class Warehouse(IdMixin, TimestampMixin, Base):
    """A place stock is kept: the client's central store, a locale's storeroom (``locale_id``)
    or a technician's van (``technician_id``). Deactivated, never deleted once stock moved."""

    __tablename__ = "warehouses"
    __table_args__ = (UniqueConstraint("client_id", "code"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[WarehouseKind] = mapped_column(StrEnum(WarehouseKind))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    locale_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locales.id", ondelete="RESTRICT"), index=True
    )
    technician_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)


class InventoryStock(IdMixin, TimestampMixin, Base):
    """The stock of one product in one warehouse: what the ledger's movements add up to
    (``on_hand``), what tickets hold (``reserved``) and what open purchase orders bring
    (``on_order``). ``available`` is ``on_hand - reserved`` and never below zero; the checks
    hold it even against a write that bypasses the services. Quantities are ``Quantity``
    (exact thousandths); ``average_cost_minor`` is the weighted average unit cost."""

    __tablename__ = "inventory_stock"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "product_id"),
        Index("ix_inventory_stock_client_id_product_id", "client_id", "product_id"),
        # The list's default order, a client at a time: each page an index walk.
        Index("ix_inventory_stock_client_id_created_at_id", "client_id", "created_at", "id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("on_order >= 0", name="on_order_not_negative"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    on_hand: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    on_order: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    reorder_point: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    reorder_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    bin_location: Mapped[str] = mapped_column(String(64), default="")
    average_cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class InventoryMovement(IdMixin, Base):
    """One line of the append-only ledger: a signed quantity of a product into (+) or out of
    (-) a warehouse, valued at ``unit_cost_minor``, with the document it belongs to. The
    database refuses UPDATE and DELETE of its rows (as ``audit_logs``); a mistake is
    corrected by another movement. Its own rows are the record, so they are not audited."""

    __tablename__ = "inventory_movements"
    __audited__: ClassVar[bool] = False
    __table_args__ = (
        Index("ix_inventory_movements_client_id_id", "client_id", "id"),
        Index(
            "ix_inventory_movements_warehouse_id_product_id_id",
            "warehouse_id",
            "product_id",
            "id",
        ),
        Index("ix_inventory_movements_document", "document_kind", "document_id"),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
    )

    # No cascade from the client, warehouse, product or actor: the database refuses to delete
    # a ledger row, so those are deactivated instead of deleted once stock moved.
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(StrEnum(MovementKind))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    document_kind: Mapped[MovementDocument] = mapped_column(StrEnum(MovementDocument))
    document_id: Mapped[uuid.UUID | None]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InventoryTransfer(IdMixin, Base):
    """A move of stock between two warehouses of a client: its lines are the pairs of
    ``transfer_out``/``transfer_in`` movements whose document it is, written together."""

    __tablename__ = "inventory_transfers"
    __audited__: ClassVar[bool] = False

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    from_warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"), index=True)
    to_warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockCount(IdMixin, TimestampMixin, Base):
    """A cycle count of a warehouse (all its stocked products, or some): counted quantities
    are entered line by line, and posting writes one ``count`` movement per difference."""

    __tablename__ = "stock_counts"

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("warehouses.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[StockCountStatus] = mapped_column(
        StrEnum(StockCountStatus), default=StockCountStatus.open
    )
    note: Mapped[str] = mapped_column(Text, default="")
    started_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    posted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    posted_at: Mapped[datetime | None]


class StockCountLine(IdMixin, TimestampMixin, Base):
    """One product of a count: the quantity on hand when the count started (``expected``) and
    the one counted; posting compares the count with the stock at that moment."""

    __tablename__ = "stock_count_lines"
    __table_args__ = (UniqueConstraint("count_id", "product_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    count_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_counts.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    expected: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    counted: Mapped[Decimal | None] = mapped_column(Quantity())
    counted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    counted_at: Mapped[datetime | None]
