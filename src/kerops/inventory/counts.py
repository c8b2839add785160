"""Stock counts (cycle counting): a snapshot of what a warehouse should hold, the quantities
counted, and posting: one ``count`` movement per difference with the stock at that moment."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import MovementDocument, MovementKind, StockCountStatus
from kerops.core.errors import Conflict
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import utcnow, uuid7
from kerops.inventory import ledger
from kerops.inventory.checks import check_quantity, invalid
from kerops.inventory.models import InventoryStock, Product, StockCount, StockCountLine
from kerops.inventory.stock import stocked_products, writable_warehouse
from kerops.inventory.store_schemas import CountCreate, CountLinesUpdate

COUNT_SORTS = {"created_at": StockCount.created_at}


async def start_count(
    session: AsyncSession, *, principal: Principal, data: CountCreate
) -> StockCount:
    """Start a count of a warehouse the caller manages: a line per product given (each one it
    may keep), or per stocked product it has a stock row of; ``expected`` is on hand now."""
    warehouse = await writable_warehouse(session, principal, data.warehouse_id)
    on_hand = select(InventoryStock.product_id, InventoryStock.on_hand).where(
        InventoryStock.warehouse_id == warehouse.id
    )
    if data.product_ids is not None:
        products = await stocked_products(
            session, principal, data.product_ids, warehouse, "product_ids"
        )
        wanted = set(products)
        stock = dict(
            (await session.execute(on_hand.where(InventoryStock.product_id.in_(wanted)))).all()
        )
        expected = {product_id: stock.get(product_id, Decimal(0)) for product_id in wanted}
    else:
        stocked_only = on_hand.join(Product, Product.id == InventoryStock.product_id).where(
            Product.is_stocked.is_(True)
        )
        expected = dict((await session.execute(stocked_only)).all())
    count = StockCount(
        client_id=warehouse.client_id,
        warehouse_id=warehouse.id,
        status=StockCountStatus.open,
        note=data.note,
        started_by_id=principal.user_id,
    )
    session.add(count)
    await session.flush()
    if expected:
        now = utcnow()
        rows = [
            {
                "id": uuid7(),
                "client_id": warehouse.client_id,
                "count_id": count.id,
                "product_id": product_id,
                "expected": quantity,
                "created_at": now,
                "updated_at": now,
            }
            for product_id, quantity in sorted(expected.items())
        ]
        await session.execute(StockCountLine.__table__.insert(), rows)  # type: ignore[attr-defined]
    return count


async def _open_count(
    session: AsyncSession, principal: Principal, count_id: uuid.UUID
) -> StockCount:
    """A count the caller may change, still open (409 ``count_not_open`` otherwise)."""
    count = await access.get_for_write(session, StockCount, count_id, principal, for_update=True)
    if count.status is not StockCountStatus.open:
        raise Conflict(
            gettext("This count is {status}; only an open count changes.", status=count.status),
            code="count_not_open",
        )
    return count


async def record_counted(
    session: AsyncSession, *, principal: Principal, count_id: uuid.UUID, data: CountLinesUpdate
) -> StockCount:
    """Enter counted quantities of products of an open count (who and when are kept)."""
    count = await _open_count(session, principal, count_id)
    given = [line.product_id for line in data.lines]
    if len(set(given)) != len(given):
        raise invalid(
            ("body", "lines"), gettext("Each product appears once in a count."), "duplicate_line"
        )
    lines = {
        product_id: (line_id, unit)
        for line_id, product_id, unit in (
            await session.execute(
                select(StockCountLine.id, StockCountLine.product_id, Product.unit)
                .join(Product, Product.id == StockCountLine.product_id)
                .where(StockCountLine.count_id == count.id, StockCountLine.product_id.in_(given))
            )
        ).all()
    }
    now = utcnow()
    changes: list[dict[str, Any]] = []
    for index, line in enumerate(data.lines):
        if line.product_id not in lines:
            raise invalid(
                ("body", "lines", index, "product_id"),
                gettext("This product is not in the count."),
                "not_in_count",
            )
        line_id, unit = lines[line.product_id]
        check_quantity(line.counted, unit, ("body", "lines", index, "counted"))
        changes.append(
            {
                "id": line_id,
                "counted": line.counted,
                "counted_by_id": principal.user_id,
                "counted_at": now,
                "updated_at": now,
            }
        )
    await session.execute(update(StockCountLine), changes)
    count.updated_at = now
    await session.flush()
    return count


async def post_count(
    session: AsyncSession, *, principal: Principal, count_id: uuid.UUID
) -> StockCount:
    """Post an open count: for each counted line, one ``count`` movement of the difference
    between the counted quantity and on hand now (lines not counted are skipped)."""
    count = await _open_count(session, principal, count_id)
    counted = (
        await session.execute(
            select(StockCountLine.product_id, StockCountLine.counted).where(
                StockCountLine.count_id == count.id, StockCountLine.counted.is_not(None)
            )
        )
    ).all()
    if counted:
        # Locked until the movements are written: no other move slips in between.
        current = dict(
            (
                await session.execute(
                    select(InventoryStock.product_id, InventoryStock.on_hand)
                    .where(
                        InventoryStock.warehouse_id == count.warehouse_id,
                        InventoryStock.product_id.in_([p for p, _ in counted]),
                    )
                    .with_for_update()
                )
            ).all()
        )
        # One batch: the stock rows and their movements in a fixed number of statements.
        await ledger.move_many(
            session,
            client_id=count.client_id,
            changes=[
                ledger.BatchMove(
                    count.warehouse_id,
                    product_id,
                    quantity - current.get(product_id, Decimal(0)),
                )
                for product_id, quantity in counted
                if quantity is not None
            ],
            kind=MovementKind.counted,
            document_kind=MovementDocument.stock_count,
            document_id=count.id,
            actor_id=principal.user_id,
            reason=count.note,
        )
    count.status = StockCountStatus.posted
    count.posted_by_id = principal.user_id
    count.posted_at = utcnow()
    await session.flush()
    return count


async def cancel_count(
    session: AsyncSession, *, principal: Principal, count_id: uuid.UUID
) -> StockCount:
    """Cancel an open count (nothing moves)."""
    count = await _open_count(session, principal, count_id)
    count.status = StockCountStatus.cancelled
    await session.flush()
    return count


async def list_counts(
    reader: Reader,
    *,
    params: PageParams,
    warehouse_id: uuid.UUID | None = None,
    status: StockCountStatus | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the counts the caller reads."""
    stmt = reader.rows(StockCount)
    if warehouse_id is not None:
        stmt = stmt.where(StockCount.warehouse_id == warehouse_id)
    if status is not None:
        stmt = stmt.where(StockCount.status == status)
    return await reader.page(
        stmt, params, sort_fields=COUNT_SORTS, id_column=StockCount.id, default_sort="created_at"
    )


async def count_detail(reader: Reader, *, count_id: uuid.UUID) -> dict[str, Any]:
    """A count with its lines (two statements)."""
    async with reader.sharing():
        count = await reader.row(StockCount, count_id)
        stmt = (
            reader.rows(StockCountLine)
            .where(StockCountLine.count_id == count_id)
            .order_by(StockCountLine.id)
        )
        lines = [dict(row._mapping) for row in await reader.runner.all(stmt)]
    return {**count, "lines": lines}


async def count_detail_of(session: AsyncSession, count: StockCount) -> dict[str, Any]:
    """A count just changed, with its lines, read in the writing transaction."""
    lines = (
        await session.execute(
            select(StockCountLine)
            .where(StockCountLine.count_id == count.id)
            .order_by(StockCountLine.id)
            .execution_options(populate_existing=True)
        )
    ).scalars()
    return {
        **{c.key: getattr(count, c.key) for c in StockCount.__table__.columns},  # type: ignore[attr-defined]
        "lines": [
            {c.key: getattr(line, c.key) for c in StockCountLine.__table__.columns}  # type: ignore[attr-defined]
            for line in lines
        ],
    }
