"""What inventory plugs into core: the rules of the product catalogue, of warehouses and of
what hangs off a warehouse (its stock, its ledger, its counts, its transfers).

A warehouse is read and managed by those of its client who reach every locale (the owner, its
admins and client-wide managers; a client-wide viewer reads); a locale's storeroom also by that
locale's members (its managers manage it); a van by its technician, who issues from it. What a
technician reads of the storerooms of their tickets' locales is added by the module of parts on
tickets (``access.reach(Warehouse)``). Vendors' people see nothing of a client's stock.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select

from kerops.core import access
from kerops.core.access import Action
from kerops.core.enums import UserRole, WarehouseKind
from kerops.core.principal import Principal
from kerops.inventory.models import (
    InventoryMovement,
    InventoryStock,
    InventoryTransfer,
    Product,
    StockCount,
    StockCountLine,
    Warehouse,
)
from kerops.inventory.warehouses import storerooms_of
from kerops.tenancy import service as tenancy_service


@access.rule(Product)
def _products(p: Principal, action: Action) -> ColumnElement[bool]:
    own = Product.client_id == p.client_id if p.client_id is not None else false()
    if action == "write":
        return own if p.is_client_admin else false()
    return or_(Product.client_id.is_(None), own)


@access.rule(Warehouse)
def _warehouses(p: Principal, action: Action) -> ColumnElement[bool]:
    if p.client_id is None:
        return false()
    same_client = Warehouse.client_id == p.client_id
    if p.role is UserRole.technician:
        return and_(same_client, Warehouse.technician_id == p.user_id)
    if p.reaches_every_locale(action):
        return same_client
    storeroom = access.locale_predicate(Warehouse.locale_id, Warehouse.client_id, p, action)
    if storeroom is false():
        return false()
    return and_(Warehouse.kind == WarehouseKind.locale, storeroom)


# A warehouse's stock, ledger and counts are read by whoever reads the warehouse; they are
# written only by the inventory services (a movement is never changed).
for _model, _column in (
    (InventoryStock, InventoryStock.warehouse_id),
    (InventoryMovement, InventoryMovement.warehouse_id),
    (StockCount, StockCount.warehouse_id),
):
    access.follows(_model, _column, Warehouse)
access.follows(StockCountLine, StockCountLine.count_id, StockCount)


@access.rule(InventoryTransfer)
def _transfers(p: Principal, action: Action) -> ColumnElement[bool]:
    """A transfer is read by whoever reads either warehouse; it is written only by the service."""
    if action == "write":
        return false()
    reads = access.predicate(Warehouse, p, "read")
    if reads is false():
        return false()
    readable = select(Warehouse.id).where(reads).scalar_subquery()
    return or_(
        InventoryTransfer.from_warehouse_id.in_(readable),
        InventoryTransfer.to_warehouse_id.in_(readable),
    )


# A locale with a storeroom is not deleted (its storeroom keeps the locale's id).
tenancy_service.locale_used_by(storerooms_of)
