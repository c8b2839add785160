"""Purchase orders: drafting, the moves of their lifecycle, approval, receipts and closing.

``draft → submitted → approved | rejected → ordered → partially_received → received → closed``;
a rejected order may be edited and submitted again; ``cancelled`` from any state before the
first receipt. Every move writes a ``purchase_order_events`` row (and, as every ORM write, the
audit log). Amounts are computed here (``kerops.purchasing.amounts``), never taken from the
client.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import ClientRole, MovementDocument, MovementKind, UserRole
from kerops.core.enums import PurchaseOrderStatus as Status
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.i18n import gettext
from kerops.core.jobs import enqueue
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import quantity_to_stored, utcnow, uuid7
from kerops.inventory import ledger, units
from kerops.inventory.models import InventoryMovement, Product, Warehouse
from kerops.purchasing import amounts
from kerops.purchasing.models import (
    PurchaseApprovalRule,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchasingSettings,
)
from kerops.purchasing.schemas import (
    LineIn,
    PurchaseOrderCreate,
    PurchaseOrderUpdate,
    ReceiptIn,
)
from kerops.users.models import Vendor

ORDER_SORTS = {
    "number": PurchaseOrder.number,
    "created_at": PurchaseOrder.created_at,
    "total_minor": PurchaseOrder.total_minor,
}
RECEIPT_SORTS = {"created_at": InventoryMovement.created_at}

#: A service line (no product) may have as many decimals as hours do.
SERVICE_LINE_DECIMALS = 2
#: The orders whose lines still count as "on the way" for the reorder job.
OPEN = (
    Status.draft,
    Status.submitted,
    Status.approved,
    Status.ordered,
    Status.partially_received,
)
#: Where each move may start from.
MOVES: dict[str, tuple[frozenset[Status], Status]] = {
    "submit": (frozenset({Status.draft, Status.rejected}), Status.submitted),
    "approve": (frozenset({Status.submitted}), Status.approved),
    "reject": (frozenset({Status.submitted}), Status.rejected),
    "order": (frozenset({Status.approved}), Status.ordered),
    "cancel": (
        frozenset(
            {Status.draft, Status.submitted, Status.approved, Status.rejected, Status.ordered}
        ),
        Status.cancelled,
    ),
    "close": (frozenset({Status.partially_received, Status.received}), Status.closed),
}
EDITABLE = frozenset({Status.draft, Status.rejected})
RECEIVABLE = frozenset({Status.ordered, Status.partially_received})

#: Who may approve, by rank: the owner above a client admin above a client-wide manager.
ROLE_RANK = {"manager": 1, "admin": 2, "owner": 3}
#: With no rule reached, a client admin (or the owner) approves.
DEFAULT_APPROVER = "admin"


def rank_of(principal: Principal) -> int:
    """The caller's rank among approvers (0: none): staff and the owner 3, a client admin 2, a
    client-wide manager 1."""
    if principal.is_staff or principal.is_client_owner:
        return 3
    if principal.is_client_admin:
        return 2
    if principal.role is UserRole.client_member and principal.client_role is ClientRole.manager:
        return 1
    return 0


# --- checks of what a body names -----------------------------------------------------------------


async def currencies_of(session: AsyncSession, client_id: uuid.UUID) -> set[str]:
    """The currencies a client uses: CLP always, and those of its own products."""
    found = await session.execute(
        select(Product.currency).where(Product.client_id == client_id).distinct()
    )
    return {"CLP", *found.scalars()}


async def _ensure_currency(session: AsyncSession, client_id: uuid.UUID, currency: str) -> None:
    if currency != "CLP" and currency not in await currencies_of(session, client_id):
        raise Unprocessable(
            gettext("The client does not use the currency {currency}.", currency=currency),
            code="currency_not_used",
            errors=[field_error(("body", "currency"), "currency not used", "currency_not_used")],
        )


def _too_many_decimals(index: int, allowed: int) -> Unprocessable:
    return Unprocessable(
        gettext("A quantity has more decimals than its unit allows ({n}).", n=allowed),
        code="too_many_decimals",
        errors=[
            field_error(
                ("body", "lines", index, "quantity"), "too many decimals", "too_many_decimals"
            )
        ],
    )


def check_quantity(quantity: Decimal, unit: str | None, index: int) -> None:
    """422 when ``quantity`` has more decimals than ``unit`` allows (None: a service line)."""
    allowed = SERVICE_LINE_DECIMALS if unit is None else units.decimals(unit)
    if allowed is None:
        raise Unprocessable(
            gettext("The product's unit {unit} is not a known unit.", unit=unit),
            code="unknown_unit",
        )
    if not units.fits(quantity, "h" if unit is None else unit):
        raise _too_many_decimals(index, allowed)


async def _products(
    session: AsyncSession, principal: Principal, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Product]:
    """The products a body names, each one the caller reads (404 for any other)."""
    wanted = set(ids)
    if not wanted:
        return {}
    stmt = access.scoped(select(Product), Product, principal).where(Product.id.in_(wanted))
    found = {p.id: p for p in (await session.execute(stmt)).scalars()}
    if wanted - found.keys():
        raise NotFound(access.not_found_detail(Product))
    return found


async def _lines(
    session: AsyncSession, principal: Principal, order: PurchaseOrder, given: Sequence[LineIn]
) -> list[PurchaseOrderLine]:
    """The order's new lines from the body: products readable, stocked and active, quantities
    fitting their units, service lines described; amounts computed."""
    products = await _products(session, principal, [ln.product_id for ln in given if ln.product_id])
    made: list[PurchaseOrderLine] = []
    for index, line in enumerate(given):
        product = products.get(line.product_id) if line.product_id else None
        if product is not None:
            if not (product.is_stocked and product.is_active):
                raise Unprocessable(
                    gettext("Only active stocked products are bought on an order's lines."),
                    code="product_not_stocked",
                    errors=[field_error(("body", "lines", index, "product_id"), "not stocked")],
                )
            check_quantity(line.quantity, product.unit, index)
            description = line.description or product.name
        else:
            if not line.description:
                raise Unprocessable(
                    gettext("A line without a product needs a description."),
                    code="description_required",
                    errors=[field_error(("body", "lines", index, "description"), "required")],
                )
            check_quantity(line.quantity, None, index)
            description = line.description
        made.append(
            PurchaseOrderLine(
                client_id=order.client_id,
                order_id=order.id,
                position=index,
                product_id=line.product_id,
                description=description[:200],
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                net_minor=amounts.line_net(line.quantity, line.unit_price_minor),
                received=Decimal(0),
            )
        )
    return made


_NUMBER_QUERY = re.compile(r"^(?:#|OC-?)?0*(\d{1,9})$", re.IGNORECASE)


def number_of(q: str) -> int | None:
    """The order number a search text names (``42``, ``#42``, ``OC-000042``), if any."""
    match = _NUMBER_QUERY.match(q.strip())
    return int(match.group(1)) if match else None


def set_amounts(order: PurchaseOrder, lines: Sequence[PurchaseOrderLine]) -> None:
    """Compute the order's net, IVA and total from its lines."""
    found = amounts.totals(line.net_minor for line in lines)
    order.net_minor = found.net_minor
    order.tax_minor = found.tax_minor
    order.total_minor = found.total_minor


async def next_number(session: AsyncSession, client_id: uuid.UUID) -> int:
    """The client's next order number (the highest one plus one; the unique key on
    (client, number) refuses a concurrent twin, and the caller tries again)."""
    found = await session.execute(
        select(func.max(PurchaseOrder.number)).where(PurchaseOrder.client_id == client_id)
    )
    return int(found.scalar() or 0) + 1


def _numbering_key(client_id: uuid.UUID) -> int:
    """The advisory lock key of a client's order numbers (a signed 64-bit integer)."""
    digest = hashlib.blake2b(b"purchase_orders:" + client_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def add_order(session: AsyncSession, order: PurchaseOrder) -> None:
    """Number and insert a new order. On PostgreSQL the client's numbering is held by a
    transaction-level advisory lock, so concurrent orders take their numbers in turn (SQLite's
    write transactions are serial already); a savepoint per try still takes a number lost to
    a concurrent order again."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_numbering_key(order.client_id))))
    await session.flush()  # what is pending already is not the savepoint's to lose
    for _ in range(5):
        order.number = await next_number(session, order.client_id)
        try:
            async with session.begin_nested():
                session.add(order)
                await session.flush()
            return
        except IntegrityError:
            if order in session:
                session.expunge(order)
            continue
    raise Conflict(gettext("Could not number the order; try again."), code="numbering_conflict")


def record(
    session: AsyncSession,
    order: PurchaseOrder,
    from_status: Status | None,
    to_status: Status,
    actor_id: uuid.UUID | None,
    reason: str = "",
) -> None:
    """Write one move of the order to its history."""
    session.add(
        PurchaseOrderEvent(
            client_id=order.client_id,
            order_id=order.id,
            from_status=from_status,
            to_status=to_status,
            actor_id=actor_id,
            reason=reason,
            created_at=utcnow(),
        )
    )


# --- drafting ------------------------------------------------------------------------------------


async def _vendor(session: AsyncSession, principal: Principal, vendor_id: uuid.UUID) -> Vendor:
    vendor = await access.get_scoped(session, Vendor, vendor_id, principal)
    return vendor


async def _warehouse(
    session: AsyncSession, principal: Principal, warehouse_id: uuid.UUID
) -> Warehouse:
    return await access.get_for_write(session, Warehouse, warehouse_id, principal)


async def create_order(
    session: AsyncSession, *, principal: Principal, data: PurchaseOrderCreate
) -> PurchaseOrder:
    """Draft an order to a vendor the caller sees, for a warehouse the caller manages."""
    await _vendor(session, principal, data.vendor_id)
    warehouse = await _warehouse(session, principal, data.warehouse_id)
    await _ensure_currency(session, warehouse.client_id, data.currency)
    order = PurchaseOrder(
        id=uuid7(),
        client_id=warehouse.client_id,
        vendor_id=data.vendor_id,
        warehouse_id=warehouse.id,
        currency=data.currency,
        status=Status.draft,
        notes=data.notes,
        expected_on=data.expected_on,
        proposed=False,
        created_by_id=principal.user_id,
    )
    lines = await _lines(session, principal, order, data.lines)
    set_amounts(order, lines)
    await add_order(session, order)
    session.add_all(lines)
    record(session, order, None, Status.draft, principal.user_id)
    await session.flush()
    return order


async def update_order(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID, data: PurchaseOrderUpdate
) -> PurchaseOrder:
    """Change a draft or rejected order (``lines`` replaces them all)."""
    order = await access.get_for_write(session, PurchaseOrder, order_id, principal, for_update=True)
    if order.status not in EDITABLE:
        raise _invalid(order.status)
    changes = data.model_dump(exclude_unset=True, exclude={"lines"})
    if "vendor_id" in changes:
        await _vendor(session, principal, changes["vendor_id"])
    if "warehouse_id" in changes:
        warehouse = await _warehouse(session, principal, changes["warehouse_id"])
        if warehouse.client_id != order.client_id:
            raise NotFound(access.not_found_detail(Warehouse))
    if "currency" in changes:
        await _ensure_currency(session, order.client_id, changes["currency"])
    for key, value in changes.items():
        setattr(order, key, value)
    if data.lines is not None:
        old = (
            await session.execute(
                select(PurchaseOrderLine).where(PurchaseOrderLine.order_id == order.id)
            )
        ).scalars()
        for line in old:
            await session.delete(line)
        lines = await _lines(session, principal, order, data.lines)
        session.add_all(lines)
        set_amounts(order, lines)
    await session.flush()
    await access.ensure_still_in_scope(session, order, principal)
    return order


# --- moves ---------------------------------------------------------------------------------------


def _invalid(status: Status) -> Conflict:
    return Conflict(
        gettext("An order in state {status} cannot make that move.", status=status.value),
        code="invalid_transition",
        current_status=status.value,
    )


async def _for_move(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, move: str
) -> PurchaseOrder:
    order = await access.get_for_write(session, PurchaseOrder, order_id, principal, for_update=True)
    if order.status not in MOVES[move][0]:
        raise _invalid(order.status)
    return order


def _go(
    session: AsyncSession, order: PurchaseOrder, move: str, actor: uuid.UUID, reason: str = ""
) -> None:
    to = MOVES[move][1]
    record(session, order, order.status, to, actor, reason)
    order.status = to


async def order_lines(session: AsyncSession, order_id: uuid.UUID) -> list[PurchaseOrderLine]:
    """An order's lines, in order (the service's own read, after the order was checked)."""
    found = await session.execute(
        select(PurchaseOrderLine)
        .where(PurchaseOrderLine.order_id == order_id)
        .order_by(PurchaseOrderLine.position)
    )
    return list(found.scalars())


async def submit(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID
) -> PurchaseOrder:
    """Send a draft (or a rejected order) for approval."""
    order = await _for_move(session, principal, order_id, "submit")
    _go(session, order, "submit", principal.user_id)
    order.submitted_by_id = principal.user_id
    order.submitted_at = utcnow()
    order.rejection_reason = ""
    await session.flush()
    return order


async def required_role(session: AsyncSession, order: PurchaseOrder) -> str:
    """The role that approves ``order``: the rule with the highest threshold its total reaches
    (in its currency), else a client admin."""
    found = await session.execute(
        select(PurchaseApprovalRule.role)
        .where(
            PurchaseApprovalRule.client_id == order.client_id,
            PurchaseApprovalRule.currency == order.currency,
            PurchaseApprovalRule.min_total_minor <= order.total_minor,
        )
        .order_by(PurchaseApprovalRule.min_total_minor.desc())
        .limit(1)
    )
    return found.scalar() or DEFAULT_APPROVER


async def approve(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID
) -> PurchaseOrder:
    """Approve a submitted order: someone other than its submitter, of the role its rule asks."""
    order = await _for_move(session, principal, order_id, "approve")
    if order.submitted_by_id == principal.user_id:
        raise Forbidden(gettext("The submitter of an order cannot approve it."), code="own_order")
    role = await required_role(session, order)
    if rank_of(principal) < ROLE_RANK[role]:
        raise Forbidden(
            gettext("This order needs an approver with the role {role}.", role=role),
            code="approver_role",
            role=role,
        )
    _go(session, order, "approve", principal.user_id)
    order.approved_by_id = principal.user_id
    order.approved_at = utcnow()
    await session.flush()
    return order


async def reject(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID, reason: str
) -> PurchaseOrder:
    """Send a submitted order back, with the reason (it may be edited and submitted again)."""
    order = await _for_move(session, principal, order_id, "reject")
    if rank_of(principal) < ROLE_RANK[await required_role(session, order)]:
        raise Forbidden(
            gettext("Only who may approve an order may reject it."), code="approver_role"
        )
    _go(session, order, "reject", principal.user_id, reason)
    order.rejection_reason = reason
    await session.flush()
    return order


async def place(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID
) -> PurchaseOrder:
    """Place an approved order: its products go on order at the destination, and its PDF is
    e-mailed to the vendor's contact (by a job, after the commit)."""
    order = await _for_move(session, principal, order_id, "order")
    for line in await order_lines(session, order.id):
        if line.product_id is not None:
            await ledger.add_on_order(
                session, order.client_id, order.warehouse_id, line.product_id, line.quantity
            )
    vendor = await session.get(Vendor, order.vendor_id)
    reason = ""
    if vendor is None or not vendor.contact_email:
        reason = gettext("The vendor has no contact e-mail: the order was not e-mailed.")
    else:
        enqueue(session, "purchasing.send_order", order_id=str(order.id))
    _go(session, order, "order", principal.user_id, reason)
    order.ordered_at = utcnow()
    await session.flush()
    return order


async def _release_rest(session: AsyncSession, order: PurchaseOrder) -> None:
    """Take what has not arrived of the order's products off order."""
    for line in await order_lines(session, order.id):
        rest = line.quantity - line.received
        if line.product_id is not None and rest > 0:
            await ledger.add_on_order(
                session, order.client_id, order.warehouse_id, line.product_id, -rest
            )


async def cancel(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID, reason: str
) -> PurchaseOrder:
    """Cancel an order before anything of it arrived."""
    order = await _for_move(session, principal, order_id, "cancel")
    if order.status is Status.ordered:
        await _release_rest(session, order)
    _go(session, order, "cancel", principal.user_id, reason)
    order.cancelled_at = utcnow()
    await session.flush()
    return order


async def close(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID
) -> PurchaseOrder:
    """Close a received order, or a partially received one short (what did not arrive goes
    off order)."""
    order = await _for_move(session, principal, order_id, "close")
    await _release_rest(session, order)
    _go(session, order, "close", principal.user_id)
    order.closed_at = utcnow()
    await session.flush()
    return order


# --- receipts ------------------------------------------------------------------------------------


async def settings_of(session: AsyncSession, client_id: uuid.UUID) -> int:
    """The client's over-receipt tolerance, in percent (0 until set)."""
    found = await session.execute(
        select(PurchasingSettings.over_receipt_percent).where(
            PurchasingSettings.client_id == client_id
        )
    )
    return int(found.scalar() or 0)


def _over_receipt(index: int) -> Conflict:
    return Conflict(
        gettext("More would arrive than was ordered (beyond the tolerance)."),
        code="over_receipt",
        line=index,
    )


async def receive(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID, data: ReceiptIn
) -> PurchaseOrder:
    """Record a delivery: each product line's quantity enters the destination's stock at its
    price (a receipt movement) and leaves what is on order; service lines are only counted."""
    order = await access.get_for_write(session, PurchaseOrder, order_id, principal, for_update=True)
    if order.status not in RECEIVABLE:
        raise _invalid(order.status)
    lines = {line.id: line for line in await order_lines(session, order.id)}
    seen: set[uuid.UUID] = set()
    for index, given in enumerate(data.lines):
        if given.line_id not in lines or given.line_id in seen:
            raise Unprocessable(
                gettext("Each receipt line names a different line of this order."),
                code="unknown_line",
                errors=[field_error(("body", "lines", index, "line_id"), "unknown line")],
            )
        seen.add(given.line_id)
    products = {
        p.id: p
        for p in (
            await session.execute(
                select(Product).where(
                    Product.id.in_({ln.product_id for ln in lines.values() if ln.product_id})
                )
            )
        ).scalars()
    }
    tolerance = await settings_of(session, order.client_id)
    moves: list[ledger.BatchMove] = []
    for index, given in enumerate(data.lines):
        line = lines[given.line_id]
        product = products.get(line.product_id) if line.product_id else None
        check_quantity(given.quantity, product.unit if product else None, index)
        after = quantity_to_stored(line.received + given.quantity)
        if after * 100 > quantity_to_stored(line.quantity) * (100 + tolerance):
            raise _over_receipt(index)
        if product is not None:
            moves.append(
                ledger.BatchMove(
                    warehouse_id=order.warehouse_id,
                    product_id=product.id,
                    quantity=given.quantity,
                    unit_cost_minor=(
                        line.unit_price_minor
                        if given.unit_price_minor is None
                        else given.unit_price_minor
                    ),
                    document_id=line.id,
                    # what arrives leaves what is on order (never more than was still on order)
                    off_order=min(given.quantity, max(line.quantity - line.received, Decimal(0))),
                )
            )
    # A constant number of statements for any number of lines: the movements, their stock rows
    # (on hand, average, on order) in one batch, the lines in one UPDATE (the flush's).
    await ledger.move_many(
        session,
        client_id=order.client_id,
        changes=moves,
        kind=MovementKind.receipt,
        document_kind=MovementDocument.purchase_order_line,
        document_id=None,
        actor_id=principal.user_id,
    )
    for given in data.lines:
        line = lines[given.line_id]
        line.received = line.received + given.quantity
    complete = all(line.received >= line.quantity for line in lines.values())
    to = Status.received if complete else Status.partially_received
    record(session, order, order.status, to, principal.user_id)
    order.status = to
    if complete:
        order.received_at = utcnow()
    await session.flush()
    return order


# --- reads ---------------------------------------------------------------------------------------


async def list_orders(
    reader: Reader,
    *,
    params: PageParams,
    status: Status | None = None,
    vendor_id: uuid.UUID | None = None,
    warehouse_id: uuid.UUID | None = None,
    proposed: bool | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the orders the caller reads."""
    stmt = reader.rows(PurchaseOrder)
    if status is not None:
        stmt = stmt.where(PurchaseOrder.status == status)
    if vendor_id is not None:
        stmt = stmt.where(PurchaseOrder.vendor_id == vendor_id)
    if warehouse_id is not None:
        stmt = stmt.where(PurchaseOrder.warehouse_id == warehouse_id)
    if proposed is not None:
        stmt = stmt.where(PurchaseOrder.proposed.is_(proposed))
    if q:
        number = number_of(q)
        if number is not None:
            stmt = stmt.where(PurchaseOrder.number == number)
        else:
            stmt = stmt.where(text_search(q, PurchaseOrder.notes))
    return await reader.page(
        stmt, params, sort_fields=ORDER_SORTS, id_column=PurchaseOrder.id, default_sort="-number"
    )


async def order_detail(reader: Reader, order_id: uuid.UUID) -> dict[str, Any]:
    """An order the caller reads, with its lines and history (read through their rules)."""
    async with reader.sharing():
        order = await reader.row(PurchaseOrder, order_id)
        lines = await reader.runner.all(
            reader.rows(PurchaseOrderLine)
            .where(PurchaseOrderLine.order_id == order_id)
            .order_by(PurchaseOrderLine.position),
            {},
        )
        events = await reader.runner.all(
            reader.rows(PurchaseOrderEvent)
            .where(PurchaseOrderEvent.order_id == order_id)
            .order_by(PurchaseOrderEvent.created_at, PurchaseOrderEvent.id),
            {},
        )
    return {
        **order,
        "lines": [dict(row._mapping) for row in lines],
        "events": [dict(row._mapping) for row in events],
    }


async def list_receipts(
    reader: Reader, *, order_id: uuid.UUID, params: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    """The receipt movements of an order's lines, a page of them."""
    await reader.row(PurchaseOrder, order_id)
    line_ids = select(PurchaseOrderLine.id).where(PurchaseOrderLine.order_id == order_id)
    stmt = reader.rows(InventoryMovement).where(
        InventoryMovement.document_kind == MovementDocument.purchase_order_line,
        InventoryMovement.document_id.in_(line_ids.scalar_subquery()),
    )
    return await reader.page(
        stmt,
        params,
        sort_fields=RECEIPT_SORTS,
        id_column=InventoryMovement.id,
        default_sort="created_at",
    )
