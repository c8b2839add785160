"""Inventory: the product catalogue."""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import ProductCategory
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum


class Product(IdMixin, TimestampMixin, Base):
    """A catalogue item: kit, sensor, fee, hour or spare part; money in integer minor units.

    ``client_id`` is null for KER's own catalogue (kits, sensors, fees it sells).
    """

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("client_id", "sku"),)

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
