"""Parts on tickets: the stock a ticket holds until its parts are issued."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import ReservationStatus
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import Quantity, StrEnum


class StockReservation(IdMixin, TimestampMixin, Base):
    """A ticket's hold on a quantity of a product in a warehouse (counted in the stock row's
    ``reserved``): released when the ticket is cancelled, consumed when the parts are issued."""

    __tablename__ = "stock_reservations"
    __table_args__ = (
        Index("ix_stock_reservations_ticket_id_status", "ticket_id", "status"),
        Index("ix_stock_reservations_warehouse_id_product_id", "warehouse_id", "product_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE")
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id", ondelete="CASCADE"))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    status: Mapped[ReservationStatus] = mapped_column(
        StrEnum(ReservationStatus), default=ReservationStatus.active
    )
