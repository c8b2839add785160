"""Transfers: stock moved between two warehouses of a client, both legs of every line in one
transaction (a line that cannot move leaves nothing moved)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import MovementDocument, MovementKind
from kerops.core.errors import NotFound
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.inventory import ledger
from kerops.inventory.checks import check_quantity, invalid
from kerops.inventory.models import InventoryMovement, InventoryTransfer, Warehouse
from kerops.inventory.stock import stocked_products, writable_warehouse
from kerops.inventory.store_schemas import TransferCreate

TRANSFER_SORTS = {"created_at": InventoryTransfer.created_at}


async def create_transfer(
    session: AsyncSession, *, principal: Principal, data: TransferCreate
) -> InventoryTransfer:
    """Move the lines from a warehouse the caller manages to another of its client that the
    caller reads: each line out of the source at its average cost and into the destination
    at that cost."""
    if data.from_warehouse_id == data.to_warehouse_id:
        raise invalid(
            ("body", "to_warehouse_id"),
            gettext("A transfer goes to another warehouse."),
            "same_warehouse",
        )
    source = await writable_warehouse(session, principal, data.from_warehouse_id)
    target = await access.get_scoped(session, Warehouse, data.to_warehouse_id, principal)
    if target.client_id != source.client_id:
        raise NotFound(access.not_found_detail(Warehouse))
    if not target.is_active:
        raise invalid(
            ("body", "to_warehouse_id"),
            gettext("This warehouse is inactive; activate it first."),
            "warehouse_inactive",
        )
    found = await stocked_products(
        session, principal, [line.product_id for line in data.lines], source, "lines"
    )
    for index, line in enumerate(data.lines):
        product = found[line.product_id]
        check_quantity(line.quantity, product.unit, ("body", "lines", index, "quantity"))
    transfer = InventoryTransfer(
        client_id=source.client_id,
        from_warehouse_id=source.id,
        to_warehouse_id=target.id,
        actor_id=principal.user_id,
        note=data.note,
    )
    session.add(transfer)
    await session.flush()
    for line in data.lines:
        common: dict[str, Any] = {
            "client_id": source.client_id,
            "product_id": line.product_id,
            "document_kind": MovementDocument.transfer,
            "document_id": transfer.id,
            "actor_id": principal.user_id,
        }
        out = await ledger.move(
            session,
            warehouse_id=source.id,
            kind=MovementKind.transfer_out,
            quantity=-line.quantity,
            **common,
        )
        await ledger.move(
            session,
            warehouse_id=target.id,
            kind=MovementKind.transfer_in,
            quantity=line.quantity,
            unit_cost_minor=out.unit_cost_minor,
            **common,
        )
    return transfer


async def list_transfers(
    reader: Reader,
    *,
    params: PageParams,
    warehouse_id: uuid.UUID | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the transfers the caller reads (from or to ``warehouse_id``)."""
    stmt = reader.rows(InventoryTransfer)
    if warehouse_id is not None:
        stmt = stmt.where(
            or_(
                InventoryTransfer.from_warehouse_id == warehouse_id,
                InventoryTransfer.to_warehouse_id == warehouse_id,
            )
        )
    return await reader.page(
        stmt,
        params,
        sort_fields=TRANSFER_SORTS,
        id_column=InventoryTransfer.id,
        default_sort="created_at",
    )


async def transfer_detail(reader: Reader, *, transfer_id: uuid.UUID) -> dict[str, Any]:
    """A transfer with the movements of it the caller reads (two statements)."""
    async with reader.sharing():
        transfer = await reader.row(InventoryTransfer, transfer_id)
        stmt = (
            reader.rows(InventoryMovement)
            .where(
                InventoryMovement.document_kind == MovementDocument.transfer,
                InventoryMovement.document_id == transfer_id,
            )
            .order_by(InventoryMovement.id)
        )
        movements = [dict(row._mapping) for row in await reader.runner.all(stmt)]
    return {**transfer, "movements": movements}
