"""What purchasing plugs into core: an order follows its destination warehouse (who manages
the warehouse manages its orders; who reads it reads them), its lines and history follow the
order, and the approval rules and settings are the client's configuration."""

from __future__ import annotations

from kerops.core import access
from kerops.inventory.models import Warehouse
from kerops.purchasing.models import (
    PurchaseApprovalRule,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchasingSettings,
)

access.follows(PurchaseOrder, PurchaseOrder.warehouse_id, Warehouse)
access.follows(PurchaseOrderLine, PurchaseOrderLine.order_id, PurchaseOrder)
access.follows(PurchaseOrderEvent, PurchaseOrderEvent.order_id, PurchaseOrder)
for _model in (PurchaseApprovalRule, PurchasingSettings):
    access.rule(_model)(access.client_rule(_model))
