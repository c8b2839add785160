"""Reorder: stock rows at or below their reorder point become proposed draft orders.

A stock row is low when ``reorder_point > 0`` and ``on_hand - reserved + on_order <=
reorder_point`` (its product active and stocked, its warehouse active). Each low row without an
open order line for its product into its warehouse (an order in draft, submitted, approved,
ordered or partially received) gets one: ``reorder_quantity``, or what brings it back to the
reorder point when that is zero, at least one step of its unit, at the product's cost. The rows
are grouped by client, preferred vendor, warehouse and currency, one proposed draft per group;
rows whose product has no preferred vendor are skipped and reported. Each row proposed or
skipped raises ``stock.low``. Running it again proposes nothing new: the open line counts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

import structlog
from sqlalchemy import BigInteger, and_, exists, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import PurchaseOrderStatus
from kerops.core.i18n import DEFAULT_LANGUAGE, gettext
from kerops.core.types import uuid7
from kerops.events import service as events
from kerops.inventory import ledger, units
from kerops.inventory.models import InventoryStock, Product, Warehouse
from kerops.purchasing import amounts
from kerops.purchasing.models import PurchaseOrder, PurchaseOrderLine
from kerops.purchasing.service import OPEN, add_order, record, set_amounts

log = structlog.get_logger("kerops.purchasing")

ON_HAND = ledger.ON_HAND
RESERVED = ledger.RESERVED
ON_ORDER = ledger.ON_ORDER
REORDER_POINT = type_coerce(InventoryStock.reorder_point, BigInteger())


@dataclass
class Proposal:
    """What one run did: the orders it proposed and the low rows it skipped (no vendor)."""

    orders: list[PurchaseOrder] = field(default_factory=list)
    skipped: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)


def reorder_quantity(stock: Any, unit: str) -> Decimal:
    """How much to order for a low row: its reorder quantity, else what brings it back to its
    reorder point; at least one step of its unit, rounded up to the unit's decimals."""
    if stock.reorder_quantity > 0:
        wanted = Decimal(stock.reorder_quantity)
    else:
        wanted = stock.reorder_point - (stock.on_hand - stock.reserved) - stock.on_order
    step = Decimal(1).scaleb(-(units.decimals(unit) or 0))
    return max(wanted.quantize(step, rounding=ROUND_CEILING), step)


def _low_rows(client_id: uuid.UUID | None) -> Any:
    open_line = exists().where(
        PurchaseOrderLine.product_id == InventoryStock.product_id,
        PurchaseOrder.id == PurchaseOrderLine.order_id,
        PurchaseOrder.warehouse_id == InventoryStock.warehouse_id,
        PurchaseOrder.status.in_(OPEN),
    )
    stmt = (
        select(InventoryStock, Product, Warehouse)
        .join(Product, Product.id == InventoryStock.product_id)
        .join(Warehouse, Warehouse.id == InventoryStock.warehouse_id)
        .where(
            REORDER_POINT > 0,
            ON_HAND - RESERVED + ON_ORDER <= REORDER_POINT,
            and_(Product.is_active.is_(True), Product.is_stocked.is_(True)),
            Warehouse.is_active.is_(True),
            ~open_line,
        )
        .order_by(InventoryStock.client_id, Warehouse.code, Product.sku)
    )
    if client_id is not None:
        stmt = stmt.where(InventoryStock.client_id == client_id)
    return stmt


def _low_event(
    session: AsyncSession,
    stock: InventoryStock,
    product: Product,
    warehouse: Warehouse,
    order: PurchaseOrder | None,
) -> None:
    events.emit(
        session,
        "stock.low",
        client_id=stock.client_id,
        locale_id=warehouse.locale_id,
        subject_type="purchase_order" if order is not None else "inventory_stock",
        subject_id=order.id if order is not None else stock.id,
        payload={
            "warehouse_id": str(warehouse.id),
            "warehouse_code": warehouse.code,
            "product_id": str(product.id),
            "sku": product.sku,
            "name": product.name,
            "available": format(stock.on_hand - stock.reserved, "f"),
            "on_order": format(stock.on_order, "f"),
            "reorder_point": format(stock.reorder_point, "f"),
            "order_id": str(order.id) if order is not None else None,
            "order_number": order.number if order is not None else None,
        },
    )


async def propose(
    session: AsyncSession, *, client_id: uuid.UUID | None = None, actor_id: uuid.UUID | None = None
) -> Proposal:
    """Propose draft orders for the low stock rows (of one client, or all)."""
    found = (await session.execute(_low_rows(client_id))).all()
    groups: dict[tuple[Any, ...], list[tuple[InventoryStock, Product, Warehouse]]] = {}
    done = Proposal()
    for stock, product, warehouse in found:
        if product.preferred_vendor_id is None:
            done.skipped.append((warehouse.id, product.id))
            log.info(
                "reorder_skipped_no_vendor",
                client=str(stock.client_id),
                warehouse=str(warehouse.id),
                product=str(product.id),
            )
            _low_event(session, stock, product, warehouse, None)
            continue
        key = (stock.client_id, product.preferred_vendor_id, warehouse.id, product.currency)
        groups.setdefault(key, []).append((stock, product, warehouse))
    note = gettext("Proposed by the reorder run.", DEFAULT_LANGUAGE)
    for (client, vendor_id, warehouse_id, currency), rows in groups.items():
        order = PurchaseOrder(
            id=uuid7(),
            client_id=client,
            vendor_id=vendor_id,
            warehouse_id=warehouse_id,
            currency=currency,
            status=PurchaseOrderStatus.draft,
            notes="",
            proposed=True,
            created_by_id=actor_id,
        )
        lines = []
        for position, (stock, product, _warehouse) in enumerate(rows):
            quantity = reorder_quantity(stock, product.unit)
            lines.append(
                PurchaseOrderLine(
                    client_id=client,
                    order_id=order.id,
                    position=position,
                    product_id=product.id,
                    description=product.name,
                    quantity=quantity,
                    unit_price_minor=product.cost_minor,
                    net_minor=amounts.line_net(quantity, product.cost_minor),
                    received=Decimal(0),
                )
            )
        set_amounts(order, lines)
        await add_order(session, order)
        session.add_all(lines)
        record(session, order, None, PurchaseOrderStatus.draft, actor_id, note)
        for stock, product, warehouse in rows:
            _low_event(session, stock, product, warehouse, order)
        done.orders.append(order)
    await session.flush()
    return done
