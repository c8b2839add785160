"""Rules of stock rows and the ledger's reads: the stock list and its settings, movements,
adjustments and the valuation at average cost."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import MovementDocument, MovementKind
from kerops.core.errors import Conflict, NotFound
from kerops.core.filtering import text_search
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import thousandths_to_minor
from kerops.inventory import ledger
from kerops.inventory.checks import check_quantity, invalid
from kerops.inventory.models import InventoryMovement, InventoryStock, Product, Warehouse
from kerops.inventory.store_schemas import (
    AdjustmentCreate,
    CategoryValue,
    StockSettings,
    StockUpdate,
    Valuation,
    WarehouseValue,
)

STOCK_SORTS = {"created_at": InventoryStock.created_at, "updated_at": InventoryStock.updated_at}
MOVEMENT_SORTS = {"id": InventoryMovement.id}


def _raw(column: Any) -> Any:
    return type_coerce(column, BigInteger())


# --- what a write names --------------------------------------------------------------------------


async def writable_warehouse(
    session: AsyncSession, principal: Principal, warehouse_id: uuid.UUID
) -> Warehouse:
    """A warehouse the caller manages (404 unseen, 403 read only), active (409 otherwise)."""
    warehouse = await access.get_for_write(session, Warehouse, warehouse_id, principal)
    if not warehouse.is_active:
        raise Conflict(
            gettext("This warehouse is inactive; activate it first."), code="warehouse_inactive"
        )
    return warehouse


def stocked(product: Product, warehouse: Warehouse, field: str = "product_id") -> Product:
    """409 ``not_stocked`` for a product not kept in warehouses (a service, a fee) or one of
    another client; 422 when the product is inactive."""
    if product.client_id not in (None, warehouse.client_id):
        raise invalid(("body", field), gettext("product not found"), "not_found")
    if not product.is_stocked:
        raise Conflict(
            gettext("This product is not stocked (is_stocked=false): no warehouse keeps it."),
            code="not_stocked",
        )
    return product


async def stocked_product(
    session: AsyncSession, principal: Principal, product_id: uuid.UUID, warehouse: Warehouse
) -> Product:
    """A product the caller reads that the warehouse may keep."""
    product = await access.get_scoped(session, Product, product_id, principal)
    return stocked(product, warehouse)


async def stocked_products(
    session: AsyncSession,
    principal: Principal,
    product_ids: Sequence[uuid.UUID],
    warehouse: Warehouse,
    field: str,
) -> dict[uuid.UUID, Product]:
    """The products a write names (one query), each read by the caller (404 otherwise) and
    one the warehouse may keep; each named once (422 ``duplicate_line``)."""
    wanted = set(product_ids)
    if len(wanted) != len(product_ids):
        raise invalid(
            ("body", field), gettext("Each product appears once in a document."), "duplicate_line"
        )
    stmt = access.scoped(select(Product).where(Product.id.in_(wanted)), Product, principal)
    found = {p.id: stocked(p, warehouse, field) for p in (await session.execute(stmt)).scalars()}
    if found.keys() != wanted:
        raise NotFound(access.not_found_detail(Product))
    return found


# --- stock rows ----------------------------------------------------------------------------------


def below_reorder() -> Any:
    """Stock rows at or below their reorder point: ``available + on_order <= reorder_point``
    (rows without a reorder point, zero, are never below it)."""
    s = InventoryStock
    return (_raw(s.reorder_point) > 0) & (
        _raw(s.on_hand) - _raw(s.reserved) + _raw(s.on_order) <= _raw(s.reorder_point)
    )


async def list_stock(
    reader: Reader,
    *,
    params: PageParams,
    warehouse_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    below_reorder_point: bool | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the stock rows the caller reads (one query). A client's people read only
    their client's rows: saying so lets the database walk the client's index in the list's
    order instead of sorting every row the rule lets through."""
    stmt = reader.rows(InventoryStock)
    if reader.principal.client_id is not None:
        stmt = stmt.where(InventoryStock.client_id == reader.principal.client_id)
    if warehouse_id is not None:
        stmt = stmt.where(InventoryStock.warehouse_id == warehouse_id)
    if product_id is not None:
        stmt = stmt.where(InventoryStock.product_id == product_id)
    if below_reorder_point is not None:
        condition = below_reorder()
        stmt = stmt.where(condition if below_reorder_point else ~condition)
    if q:
        matching = select(Product.id).where(text_search(q, Product.sku, Product.name))
        stmt = stmt.where(InventoryStock.product_id.in_(matching))
    return await reader.page(
        stmt,
        params,
        sort_fields=STOCK_SORTS,
        id_column=InventoryStock.id,
        default_sort="created_at",
    )


def _check_settings(changes: dict[str, Any], unit: str) -> None:
    for key in ("reorder_point", "reorder_quantity"):
        if key in changes:
            check_quantity(changes[key], unit, ("body", key))


async def put_stock_settings(
    session: AsyncSession, *, principal: Principal, data: StockSettings
) -> InventoryStock:
    """Set a product's reorder point, reorder quantity and bin in a warehouse, making its stock
    row (all quantities zero) when there is none yet."""
    warehouse = await writable_warehouse(session, principal, data.warehouse_id)
    product = await stocked_product(session, principal, data.product_id, warehouse)
    settings = data.model_dump(exclude={"warehouse_id", "product_id"})
    _check_settings(settings, product.unit)
    stmt = ledger.upsert_stock(
        session,
        client_id=warehouse.client_id,
        warehouse_id=warehouse.id,
        product_id=product.id,
        values=settings,
        changes=settings,
    ).returning(InventoryStock.id)
    stock_id = (await session.execute(stmt)).scalar_one()
    stock = await session.get(InventoryStock, stock_id, populate_existing=True)
    assert stock is not None
    return stock


async def update_stock(
    session: AsyncSession, *, principal: Principal, stock_id: uuid.UUID, data: StockUpdate
) -> InventoryStock:
    """Change a stock row's reorder point, reorder quantity or bin (never its quantities)."""
    stock = await access.get_for_write(session, InventoryStock, stock_id, principal)
    changes = data.model_dump(exclude_unset=True)
    if "reorder_point" in changes or "reorder_quantity" in changes:
        unit = (
            await session.execute(select(Product.unit).where(Product.id == stock.product_id))
        ).scalar_one()
        _check_settings(changes, unit)
    for key, value in changes.items():
        setattr(stock, key, value)
    await session.flush()
    return stock


# --- the ledger ----------------------------------------------------------------------------------


async def list_movements(
    reader: Reader,
    *,
    params: PageParams,
    warehouse_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    kind: MovementKind | None = None,
    document_kind: MovementDocument | None = None,
    document_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One keyset page of the movements the caller reads, oldest first (by id: a UUIDv7, so
    by time; each page an index seek, whatever its depth)."""
    m = InventoryMovement
    stmt = reader.rows(m)
    if warehouse_id is not None:
        stmt = stmt.where(m.warehouse_id == warehouse_id)
    if product_id is not None:
        stmt = stmt.where(m.product_id == product_id)
    if kind is not None:
        stmt = stmt.where(m.kind == kind)
    if document_kind is not None:
        stmt = stmt.where(m.document_kind == document_kind)
    if document_id is not None:
        stmt = stmt.where(m.document_id == document_id)
    if start is not None:
        stmt = stmt.where(m.created_at >= start)
    if end is not None:
        stmt = stmt.where(m.created_at < end)
    return await reader.page(stmt, params, sort_fields=MOVEMENT_SORTS, id_column=m.id)


async def adjust(
    session: AsyncSession, *, principal: Principal, data: AdjustmentCreate
) -> InventoryMovement:
    """Correct a stock by a signed quantity with its reason (a decrease only of what is
    available at that instant)."""
    if data.quantity == 0:
        raise invalid(
            ("body", "quantity"), gettext("An adjustment moves something."), "quantity_zero"
        )
    if data.quantity < 0 and data.unit_cost_minor is not None:
        raise invalid(
            ("body", "unit_cost_minor"),
            gettext("Only an increase carries a unit cost."),
            "cost_of_decrease",
        )
    warehouse = await writable_warehouse(session, principal, data.warehouse_id)
    product = await stocked_product(session, principal, data.product_id, warehouse)
    check_quantity(data.quantity, product.unit, ("body", "quantity"))
    moved = await ledger.move(
        session,
        client_id=warehouse.client_id,
        warehouse_id=warehouse.id,
        product_id=product.id,
        kind=MovementKind.adjustment,
        quantity=data.quantity,
        document_kind=MovementDocument.adjustment,
        document_id=None,
        actor_id=principal.user_id,
        unit_cost_minor=data.unit_cost_minor,
        reason=data.reason,
    )
    movement = await session.get(InventoryMovement, moved.movement_id)
    assert movement is not None
    return movement


# --- valuation -----------------------------------------------------------------------------------


async def valuation(reader: Reader, *, warehouse_id: uuid.UUID | None = None) -> Valuation:
    """The stock the caller reads valued at average cost, per warehouse and per product
    category (one query)."""
    s = InventoryStock
    value = func.sum(_raw(s.on_hand) * s.average_cost_minor)
    stmt = (
        select(Warehouse.id, Warehouse.code, Warehouse.name, Product.category, value)
        .select_from(s)
        .join(Warehouse, Warehouse.id == s.warehouse_id)
        .join(Product, Product.id == s.product_id)
        .where(access.predicate(InventoryStock, reader.principal))
        .group_by(Warehouse.id, Warehouse.code, Warehouse.name, Product.category)
    )
    if warehouse_id is not None:
        stmt = stmt.where(s.warehouse_id == warehouse_id)
    warehouses: dict[uuid.UUID, tuple[str, str, int]] = {}
    categories: dict[Any, int] = {}
    for wid, code, name, category, total in await reader.runner.all(stmt):
        raw = int(total or 0)
        _, _, before = warehouses.get(wid, (code, name, 0))
        warehouses[wid] = (code, name, before + raw)
        categories[category] = categories.get(category, 0) + raw
    by_warehouse = [
        WarehouseValue(
            warehouse_id=wid, code=code, name=name, value_minor=thousandths_to_minor(raw)
        )
        for wid, (code, name, raw) in sorted(warehouses.items(), key=lambda kv: kv[1][0])
    ]
    by_category = [
        CategoryValue(category=category, value_minor=thousandths_to_minor(raw))
        for category, raw in sorted(categories.items(), key=lambda kv: str(kv[0]))
    ]
    return Valuation(
        total_minor=thousandths_to_minor(sum(raw for _, _, raw in warehouses.values())),
        warehouses=by_warehouse,
        categories=by_category,
    )
