"""Purchase orders, their moves, receipts and PDF; approval rules; purchasing settings; the
reorder run on demand."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core import access
from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document, render
from kerops.core.enums import PurchaseOrderStatus
from kerops.core.i18n import current_language
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.inventory.models import InventoryMovement
from kerops.purchasing import configuration, pdf, reorder, service
from kerops.purchasing.models import PurchaseApprovalRule, PurchaseOrder
from kerops.purchasing.schemas import (
    ApprovalRuleCreate,
    ApprovalRuleRead,
    ApprovalRuleUpdate,
    PurchaseOrderCreate,
    PurchaseOrderDetail,
    PurchaseOrderRead,
    PurchaseOrderUpdate,
    PurchasingSettingsIn,
    PurchasingSettingsRead,
    ReasonIn,
    ReceiptIn,
    ReceiptRead,
)

router = APIRouter(tags=["purchasing"])

OrderPage = Annotated[PageParams, sorted_by(service.ORDER_SORTS)]
ReceiptPage = Annotated[PageParams, sorted_by(service.RECEIPT_SORTS)]
RulePage = Annotated[PageParams, sorted_by(configuration.RULE_SORTS)]
ORDER_DOCUMENT = Document(PurchaseOrder, PurchaseOrderRead)
RECEIPT_DOCUMENT = Document(InventoryMovement, ReceiptRead)
RULE_DOCUMENT = Document(PurchaseApprovalRule, ApprovalRuleRead)
TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
ORDER = "/purchase-orders/{order_id}"


@router.post(
    "/purchase-orders", response_model=PurchaseOrderRead, status_code=status.HTTP_201_CREATED
)
async def create_purchase_order(
    body: PurchaseOrderCreate, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Draft an order (amounts computed by the server: docs/purchasing.md)."""
    return await service.create_order(session, principal=principal, data=body)


@router.get("/purchase-orders", response_model=Page[PurchaseOrderRead])
async def list_purchase_orders(
    reader: ReaderDep,
    page: OrderPage,
    status: PurchaseOrderStatus | None = None,
    vendor_id: uuid.UUID | None = None,
    warehouse_id: uuid.UUID | None = None,
    proposed: bool | None = None,
    q: TextFilter = None,
) -> Response:
    """The orders the caller reads (q: an order number, or text of its notes)."""
    items, cursor = await service.list_orders(
        reader,
        params=page,
        status=status,
        vendor_id=vendor_id,
        warehouse_id=warehouse_id,
        proposed=proposed,
        q=q,
    )
    return await reader.respond_page(ORDER_DOCUMENT, items, cursor)


@router.get(ORDER, response_model=PurchaseOrderDetail)
async def get_purchase_order(order_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One order with its lines and history."""
    return render(PurchaseOrderDetail, await service.order_detail(reader, order_id))


@router.patch(ORDER, response_model=PurchaseOrderRead)
async def update_purchase_order(
    order_id: uuid.UUID, body: PurchaseOrderUpdate, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Change a draft or rejected order."""
    return await service.update_order(session, principal=principal, order_id=order_id, data=body)


@router.post(f"{ORDER}/submit", response_model=PurchaseOrderRead)
async def submit_purchase_order(
    order_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Send a draft or rejected order for approval."""
    return await service.submit(session, principal=principal, order_id=order_id)


@router.post(f"{ORDER}/approve", response_model=PurchaseOrderRead)
async def approve_purchase_order(
    order_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Approve a submitted order (not its submitter; the role its approval rule asks)."""
    return await service.approve(session, principal=principal, order_id=order_id)


@router.post(f"{ORDER}/reject", response_model=PurchaseOrderRead)
async def reject_purchase_order(
    order_id: uuid.UUID, body: ReasonIn, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Send a submitted order back, with the reason."""
    return await service.reject(session, principal=principal, order_id=order_id, reason=body.reason)


@router.post(f"{ORDER}/order", response_model=PurchaseOrderRead)
async def place_purchase_order(
    order_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Place an approved order: on order at its warehouse, e-mailed to the vendor."""
    return await service.place(session, principal=principal, order_id=order_id)


@router.post(f"{ORDER}/cancel", response_model=PurchaseOrderRead)
async def cancel_purchase_order(
    order_id: uuid.UUID, body: ReasonIn, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Cancel an order before anything of it arrived."""
    return await service.cancel(session, principal=principal, order_id=order_id, reason=body.reason)


@router.post(f"{ORDER}/close", response_model=PurchaseOrderRead)
async def close_purchase_order(
    order_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Close a received or partially received order (the rest goes off order)."""
    return await service.close(session, principal=principal, order_id=order_id)


@router.post(f"{ORDER}/receipts", response_model=PurchaseOrderRead)
async def receive_purchase_order(
    order_id: uuid.UUID, body: ReceiptIn, principal: PrincipalDep, session: SessionDep
) -> PurchaseOrder:
    """Record a delivery (partial or whole): receipt movements into the order's warehouse."""
    return await service.receive(session, principal=principal, order_id=order_id, data=body)


@router.get(f"{ORDER}/receipts", response_model=Page[ReceiptRead])
async def list_purchase_order_receipts(
    order_id: uuid.UUID, reader: ReaderDep, page: ReceiptPage
) -> Response:
    """The receipt movements of the order's lines."""
    async with reader.sharing():
        items, cursor = await service.list_receipts(reader, order_id=order_id, params=page)
        return await reader.respond_page(RECEIPT_DOCUMENT, items, cursor)


@router.get(
    f"{ORDER}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def purchase_order_pdf(
    order_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> Response:
    """The order as a PDF, in the caller's language."""
    order = await access.get_scoped(session, PurchaseOrder, order_id, principal)
    content = await pdf.document(session, order, current_language())
    name = pdf.order_code(order.number)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@router.post("/inventory/reorder", response_model=list[PurchaseOrderRead])
async def run_reorder(principal: PrincipalDep, session: SessionDep) -> list[PurchaseOrder]:
    """Run the reorder now for the caller's client: the draft orders it proposed."""
    client_id = configuration.ensure_manages_purchasing(principal)
    done = await reorder.propose(session, client_id=client_id, actor_id=principal.user_id)
    return done.orders


# --- approval rules and settings -----------------------------------------------------------------


@router.post(
    "/purchase-approval-rules",
    response_model=ApprovalRuleRead,
    status_code=status.HTTP_201_CREATED,
)
async def create_approval_rule(
    body: ApprovalRuleCreate, principal: PrincipalDep, session: SessionDep
) -> PurchaseApprovalRule:
    """Add an approval rule (client admins)."""
    return await configuration.create_rule(session, principal=principal, data=body)


@router.get("/purchase-approval-rules", response_model=Page[ApprovalRuleRead])
async def list_approval_rules(reader: ReaderDep, page: RulePage) -> Response:
    """The client's approval rules."""
    items, cursor = await configuration.list_rules(reader, params=page)
    return await reader.respond_page(RULE_DOCUMENT, items, cursor)


@router.get("/purchase-approval-rules/{rule_id}", response_model=ApprovalRuleRead)
async def get_approval_rule(rule_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One approval rule."""
    return await reader.respond(RULE_DOCUMENT, rule_id)


@router.patch("/purchase-approval-rules/{rule_id}", response_model=ApprovalRuleRead)
async def update_approval_rule(
    rule_id: uuid.UUID, body: ApprovalRuleUpdate, principal: PrincipalDep, session: SessionDep
) -> PurchaseApprovalRule:
    """Change an approval rule."""
    return await configuration.update_rule(session, principal=principal, rule_id=rule_id, data=body)


@router.delete("/purchase-approval-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_approval_rule(
    rule_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete an approval rule."""
    await configuration.delete_rule(session, principal=principal, rule_id=rule_id)


@router.get("/purchasing/settings", response_model=PurchasingSettingsRead)
async def get_purchasing_settings(reader: ReaderDep) -> PurchasingSettingsRead:
    """The caller's client's purchasing settings."""
    return await configuration.get_settings(reader)


@router.put("/purchasing/settings", response_model=PurchasingSettingsRead)
async def put_purchasing_settings(
    body: PurchasingSettingsIn, principal: PrincipalDep, session: SessionDep
) -> PurchasingSettingsRead:
    """Change the caller's client's purchasing settings (client admins)."""
    return await configuration.put_settings(session, principal=principal, data=body)
