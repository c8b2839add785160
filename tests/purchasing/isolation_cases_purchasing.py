"""Isolation cases of purchasing, aimed at client A's orders (each move at an order of A in the
state the move starts from), rules and settings."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import MovementDocument, MovementKind, PurchaseOrderStatus
from kerops.inventory import ledger
from kerops.purchasing.models import PurchaseApprovalRule, PurchaseOrder, PurchaseOrderLine
from tests.assets.isolation_cases_assets import a_objects
from tests.fixtures.assets import _insert
from tests.fixtures.inventory import make_warehouse
from tests.isolation import Case, World

P = "/api/v1"
ORDER = "/purchase-orders/{order_id}"
RULE = "/purchase-approval-rules/{rule_id}"


def a_warehouse(w: World) -> uuid.UUID:
    """A's central warehouse."""

    def make() -> uuid.UUID:
        assert w.a_owner.client_id is not None
        warehouse = make_warehouse(w.run, w.a_owner.client_id, code="A-COMPRAS")
        w.remember(warehouse)
        return warehouse

    found: uuid.UUID = w.once("purchasing_a_warehouse", make)
    return found


def a_order(
    w: World,
    status: PurchaseOrderStatus,
    *,
    key: str,
    received: Decimal = Decimal(0),
) -> dict[str, uuid.UUID]:
    """An order of A in ``status`` (one per ``key``), with one line of 2 of A's product, of
    which ``received`` arrived (a receipt movement through the ledger)."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        warehouse = a_warehouse(w)
        product = a_objects(w)["product"]
        order = _insert(
            w.run,
            PurchaseOrder,
            client_id=client_id,
            number=secrets.randbelow(10**8) + 1000,
            vendor_id=w.a_vendor,
            warehouse_id=warehouse,
            currency="CLP",
            status=status,
            net_minor=2000,
            tax_minor=380,
            total_minor=2380,
            submitted_by_id=w.a_manager.id,
        )
        line = _insert(
            w.run,
            PurchaseOrderLine,
            client_id=client_id,
            order_id=order,
            position=0,
            product_id=product,
            description="A Repuesto",
            quantity=Decimal(2),
            unit_price_minor=1000,
            net_minor=2000,
            received=received,
        )
        if received:

            async def put(session: AsyncSession) -> None:
                await ledger.move(
                    session,
                    client_id=client_id,
                    warehouse_id=warehouse,
                    product_id=product,
                    kind=MovementKind.receipt,
                    quantity=received,
                    document_kind=MovementDocument.purchase_order_line,
                    document_id=line,
                    actor_id=None,
                    unit_cost_minor=1000,
                )

            w.run(put)
        w.remember(order, line)
        return {"order": order, "line": line}

    found: dict[str, uuid.UUID] = w.once(f"purchasing_order_{key}", make)
    return found


def _in(status: PurchaseOrderStatus, key: str, received: Decimal = Decimal(0)) -> Any:
    return lambda w: {"order_id": a_order(w, status, key=key, received=received)["order"]}


def a_rule(w: World) -> uuid.UUID:
    def make() -> uuid.UUID:
        rule = _insert(
            w.run,
            PurchaseApprovalRule,
            client_id=w.a_owner.client_id,
            currency="CLP",
            min_total_minor=1_000_000,
            role="owner",
        )
        w.remember(rule)
        return rule

    found: uuid.UUID = w.once("purchasing_a_rule", make)
    return found


def _rule_exists(w: World) -> dict[str, Any]:
    a_rule(w)
    return {}


def _new_order(w: World) -> dict[str, Any]:
    return {
        "vendor_id": str(w.a_vendor),
        "warehouse_id": str(a_warehouse(w)),
        "lines": [
            {"product_id": str(a_objects(w)["product"]), "quantity": 3, "unit_price_minor": 990}
        ],
    }


RECEIVING = PurchaseOrderStatus.partially_received


def _receiving(w: World) -> dict[str, Any]:
    """An order of A of which 1 of 2 arrived: receivable, with a receipt to list."""
    return {"order_id": a_order(w, RECEIVING, key="receive", received=Decimal(1))["order"]}


def _receipt(w: World) -> dict[str, Any]:
    line = a_order(w, RECEIVING, key="receive", received=Decimal(1))["line"]
    return {"lines": [{"line_id": str(line), "quantity": "1"}]}


DRAFT = PurchaseOrderStatus.draft
SUBMITTED = PurchaseOrderStatus.submitted

CASES = {
    ("POST", f"{P}/purchase-orders"): Case(body=_new_order),
    ("GET", f"{P}/purchase-orders"): Case(params=_in(DRAFT, "list"), kind="list"),
    ("GET", f"{P}{ORDER}"): Case(params=_in(DRAFT, "read")),
    ("PATCH", f"{P}{ORDER}"): Case(params=_in(DRAFT, "edit"), body=lambda w: {"notes": "x"}),
    ("POST", f"{P}{ORDER}/submit"): Case(params=_in(DRAFT, "submit")),
    ("POST", f"{P}{ORDER}/approve"): Case(params=_in(SUBMITTED, "approve")),
    ("POST", f"{P}{ORDER}/reject"): Case(
        params=_in(SUBMITTED, "reject"), body=lambda w: {"reason": "caro"}
    ),
    ("POST", f"{P}{ORDER}/order"): Case(params=_in(PurchaseOrderStatus.approved, "order")),
    ("POST", f"{P}{ORDER}/cancel"): Case(
        params=_in(DRAFT, "cancel"), body=lambda w: {"reason": "ya no"}
    ),
    ("POST", f"{P}{ORDER}/close"): Case(
        params=_in(PurchaseOrderStatus.partially_received, "close", Decimal(1))
    ),
    ("POST", f"{P}{ORDER}/receipts"): Case(params=_receiving, body=_receipt),
    ("GET", f"{P}{ORDER}/receipts"): Case(params=_receiving, kind="list"),
    ("GET", f"{P}{ORDER}/pdf"): Case(params=_in(DRAFT, "pdf")),
    # Runs the reorder of the caller's own client: nothing of A's appears in the answer.
    ("POST", f"{P}/inventory/reorder"): Case(params=_in(DRAFT, "list"), kind="list"),
    # A rule of the caller's own client (its admins; others 403).
    ("POST", f"{P}/purchase-approval-rules"): Case(
        body=lambda w: {"min_total_minor": secrets.randbelow(10**9), "role": "admin"},
        expect=frozenset({201, 403}),
    ),
    ("GET", f"{P}/purchase-approval-rules"): Case(params=_rule_exists, kind="list"),
    ("GET", f"{P}{RULE}"): Case(params=lambda w: {"rule_id": a_rule(w)}),
    ("PATCH", f"{P}{RULE}"): Case(
        params=lambda w: {"rule_id": a_rule(w)}, body=lambda w: {"role": "manager"}
    ),
    ("DELETE", f"{P}{RULE}"): Case(params=lambda w: {"rule_id": a_rule(w)}),
    # The caller's own client's settings (read by its people, changed by its admins).
    ("GET", f"{P}/purchasing/settings"): Case(expect=frozenset({200, 403})),
    ("PUT", f"{P}/purchasing/settings"): Case(
        body=lambda w: {"over_receipt_percent": 5}, expect=frozenset({200, 403})
    ),
}
