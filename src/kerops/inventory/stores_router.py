"""The stores: warehouses, stock, the ledger, transfers, adjustments, counts and valuation."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document, render
from kerops.core.enums import MovementDocument, MovementKind, StockCountStatus, WarehouseKind
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.schemas import ApiDateTime
from kerops.inventory import counts, stock, transfers, warehouses
from kerops.inventory.models import (
    InventoryMovement,
    InventoryStock,
    InventoryTransfer,
    StockCount,
    Warehouse,
)
from kerops.inventory.store_schemas import (
    AdjustmentCreate,
    CountCreate,
    CountDetail,
    CountLinesUpdate,
    CountRead,
    MovementRead,
    StockRead,
    StockSettings,
    StockUpdate,
    TransferCreate,
    TransferDetail,
    TransferRead,
    Valuation,
    WarehouseCreate,
    WarehouseRead,
    WarehouseUpdate,
)

router = APIRouter(tags=["inventory"])

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
WAREHOUSE = "/warehouses/{warehouse_id}"
STOCK = "/inventory/stock/{stock_id}"
COUNT = "/inventory/counts/{count_id}"
WAREHOUSE_DOCUMENT = Document(Warehouse, WarehouseRead)
STOCK_DOCUMENT = Document(InventoryStock, StockRead)
MOVEMENT_DOCUMENT = Document(InventoryMovement, MovementRead)
TRANSFER_DOCUMENT = Document(InventoryTransfer, TransferRead)
COUNT_DOCUMENT = Document(StockCount, CountRead)

WarehousePage = Annotated[PageParams, sorted_by(warehouses.WAREHOUSE_SORTS)]
StockPage = Annotated[PageParams, sorted_by(stock.STOCK_SORTS)]
MovementPage = Annotated[PageParams, sorted_by(stock.MOVEMENT_SORTS)]
TransferPage = Annotated[PageParams, sorted_by(transfers.TRANSFER_SORTS)]
CountPage = Annotated[PageParams, sorted_by(counts.COUNT_SORTS)]


# --- warehouses ----------------------------------------------------------------------------------


@router.post("/warehouses", response_model=WarehouseRead, status_code=status.HTTP_201_CREATED)
async def create_warehouse(
    body: WarehouseCreate, principal: PrincipalDep, session: SessionDep
) -> Warehouse:
    """Create a central store, a locale's storeroom (``locale_id``) or a van
    (``technician_id``)."""
    return await warehouses.create_warehouse(session, principal=principal, data=body)


@router.get("/warehouses", response_model=Page[WarehouseRead])
async def list_warehouses(
    reader: ReaderDep,
    page: WarehousePage,
    kind: WarehouseKind | None = None,
    locale_id: uuid.UUID | None = None,
    is_active: bool | None = None,
    q: TextFilter = None,
) -> Response:
    """The warehouses the caller reads (sort: code, name, created_at)."""
    items, cursor = await warehouses.list_warehouses(
        reader, params=page, kind=kind, locale_id=locale_id, is_active=is_active, q=q
    )
    return await reader.respond_page(WAREHOUSE_DOCUMENT, items, cursor)


@router.get(WAREHOUSE, response_model=WarehouseRead)
async def get_warehouse(warehouse_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One warehouse."""
    return await reader.respond(WAREHOUSE_DOCUMENT, warehouse_id)


@router.patch(WAREHOUSE, response_model=WarehouseRead)
async def update_warehouse(
    warehouse_id: uuid.UUID, body: WarehouseUpdate, principal: PrincipalDep, session: SessionDep
) -> Warehouse:
    """Rename, recode or (de)activate a warehouse, or give a van to another technician."""
    return await warehouses.update_warehouse(
        session, principal=principal, warehouse_id=warehouse_id, data=body
    )


@router.delete(WAREHOUSE, status_code=status.HTTP_204_NO_CONTENT)
async def delete_warehouse(
    warehouse_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete a warehouse that never held stock (409 ``warehouse_in_use`` otherwise)."""
    await warehouses.delete_warehouse(session, principal=principal, warehouse_id=warehouse_id)


# --- stock ---------------------------------------------------------------------------------------


@router.get("/inventory/stock", response_model=Page[StockRead])
async def list_stock(
    reader: ReaderDep,
    page: StockPage,
    warehouse_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    below_reorder: bool | None = None,
    q: TextFilter = None,
) -> Response:
    """Stock rows the caller reads (``below_reorder``: ``available + on_order <=
    reorder_point``, a reorder point set; ``q``: product SKU or name)."""
    items, cursor = await stock.list_stock(
        reader,
        params=page,
        warehouse_id=warehouse_id,
        product_id=product_id,
        below_reorder_point=below_reorder,
        q=q,
    )
    return await reader.respond_page(STOCK_DOCUMENT, items, cursor)


@router.put("/inventory/stock", response_model=StockRead)
async def put_stock_settings(
    body: StockSettings, principal: PrincipalDep, session: SessionDep
) -> InventoryStock:
    """Set the reorder point, reorder quantity and bin of a product in a warehouse, making its
    stock row (quantities zero) when there is none yet."""
    return await stock.put_stock_settings(session, principal=principal, data=body)


@router.get(STOCK, response_model=StockRead)
async def get_stock(stock_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One stock row."""
    return await reader.respond(STOCK_DOCUMENT, stock_id)


@router.patch(STOCK, response_model=StockRead)
async def update_stock(
    stock_id: uuid.UUID, body: StockUpdate, principal: PrincipalDep, session: SessionDep
) -> InventoryStock:
    """Change a stock row's reorder point, reorder quantity or bin (quantities move only with
    movements)."""
    return await stock.update_stock(session, principal=principal, stock_id=stock_id, data=body)


# --- the ledger ----------------------------------------------------------------------------------


@router.get("/inventory/movements", response_model=Page[MovementRead])
async def list_movements(
    reader: ReaderDep,
    page: MovementPage,
    warehouse_id: uuid.UUID | None = None,
    product_id: uuid.UUID | None = None,
    kind: MovementKind | None = None,
    document_kind: MovementDocument | None = None,
    document_id: uuid.UUID | None = None,
    start: Annotated[ApiDateTime | None, Query(alias="from")] = None,
    end: Annotated[ApiDateTime | None, Query(alias="to")] = None,
) -> Response:
    """The ledger's movements the caller reads, oldest first (``from`` inclusive, ``to``
    exclusive)."""
    items, cursor = await stock.list_movements(
        reader,
        params=page,
        warehouse_id=warehouse_id,
        product_id=product_id,
        kind=kind,
        document_kind=document_kind,
        document_id=document_id,
        start=start,
        end=end,
    )
    return await reader.respond_page(MOVEMENT_DOCUMENT, items, cursor)


@router.get("/inventory/movements/{movement_id}", response_model=MovementRead)
async def get_movement(movement_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One movement."""
    return await reader.respond(MOVEMENT_DOCUMENT, movement_id)


@router.post(
    "/inventory/adjustments", response_model=MovementRead, status_code=status.HTTP_201_CREATED
)
async def create_adjustment(
    body: AdjustmentCreate, principal: PrincipalDep, session: SessionDep
) -> InventoryMovement:
    """Correct a stock by a signed quantity with its reason (409 ``insufficient_stock`` when a
    decrease is more than is available)."""
    return await stock.adjust(session, principal=principal, data=body)


# --- transfers -----------------------------------------------------------------------------------


@router.post(
    "/inventory/transfers", response_model=TransferRead, status_code=status.HTTP_201_CREATED
)
async def create_transfer(
    body: TransferCreate, principal: PrincipalDep, session: SessionDep
) -> InventoryTransfer:
    """Move stock from a warehouse the caller manages to another they read: every line or
    none."""
    return await transfers.create_transfer(session, principal=principal, data=body)


@router.get("/inventory/transfers", response_model=Page[TransferRead])
async def list_transfers(
    reader: ReaderDep, page: TransferPage, warehouse_id: uuid.UUID | None = None
) -> Response:
    """The transfers the caller reads (from or to ``warehouse_id``)."""
    items, cursor = await transfers.list_transfers(reader, params=page, warehouse_id=warehouse_id)
    return await reader.respond_page(TRANSFER_DOCUMENT, items, cursor)


@router.get("/inventory/transfers/{transfer_id}", response_model=TransferDetail)
async def get_transfer(transfer_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One transfer with its movements (those of the warehouses the caller reads)."""
    return render(TransferDetail, await transfers.transfer_detail(reader, transfer_id=transfer_id))


# --- counts --------------------------------------------------------------------------------------


async def _detail(session: SessionDep, count: StockCount) -> dict[str, Any]:
    return await counts.count_detail_of(session, count)


@router.post("/inventory/counts", response_model=CountDetail, status_code=status.HTTP_201_CREATED)
async def start_count(
    body: CountCreate, principal: PrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """Start a count of a warehouse (the products given, or every stocked one it holds)."""
    count = await counts.start_count(session, principal=principal, data=body)
    return await _detail(session, count)


@router.get("/inventory/counts", response_model=Page[CountRead])
async def list_counts(
    reader: ReaderDep,
    page: CountPage,
    warehouse_id: uuid.UUID | None = None,
    status: StockCountStatus | None = None,
) -> Response:
    """The counts the caller reads."""
    items, cursor = await counts.list_counts(
        reader, params=page, warehouse_id=warehouse_id, status=status
    )
    return await reader.respond_page(COUNT_DOCUMENT, items, cursor)


@router.get(COUNT, response_model=CountDetail)
async def get_count(count_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One count with its lines."""
    return render(CountDetail, await counts.count_detail(reader, count_id=count_id))


@router.put(f"{COUNT}/lines", response_model=CountDetail)
async def record_counted(
    count_id: uuid.UUID, body: CountLinesUpdate, principal: PrincipalDep, session: SessionDep
) -> dict[str, Any]:
    """Enter counted quantities of an open count's products."""
    count = await counts.record_counted(session, principal=principal, count_id=count_id, data=body)
    return await _detail(session, count)


@router.post(f"{COUNT}/post", response_model=CountRead)
async def post_count(
    count_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> StockCount:
    """Post an open count: a ``count`` movement per difference with on hand now (409
    ``count_not_open`` when posted or cancelled)."""
    return await counts.post_count(session, principal=principal, count_id=count_id)


@router.post(f"{COUNT}/cancel", response_model=CountRead)
async def cancel_count(
    count_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> StockCount:
    """Cancel an open count (nothing moves)."""
    return await counts.cancel_count(session, principal=principal, count_id=count_id)


# --- valuation -----------------------------------------------------------------------------------


@router.get("/inventory/valuation", response_model=Valuation)
async def get_valuation(reader: ReaderDep, warehouse_id: uuid.UUID | None = None) -> Valuation:
    """The stock the caller reads at average cost, per warehouse and per product category."""
    return await stock.valuation(reader, warehouse_id=warehouse_id)
