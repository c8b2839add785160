"""The stock levels import: per row a warehouse (by code), a product (by SKU) and the quantity
on hand the warehouse holds, with its reorder settings and bin. Every row is checked first
(unknown warehouse or product, a product not kept in stock, a negative quantity, more decimals
than the product's unit allows, less than what tickets hold); then, unless a dry run, the
reorder settings are written and each stock row is brought to the file's quantity through the
ledger: its difference from the current ``on_hand`` is one ``adjustment`` movement (reason
``import``, document ``stock_import``, one document id per file), written in batches
(``ledger.move_many``). A unit cost values an increase (the average cost moves); a decrease is
valued at the average. Only those who manage the warehouses import (not a van's technician).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kerops.core import access
from kerops.core.enums import MovementDocument, MovementKind, UserRole
from kerops.core.errors import Forbidden
from kerops.core.i18n import N_, gettext
from kerops.core.types import utcnow, uuid7
from kerops.imports.columns import Column, ImportKind, declare, read_decimal, text
from kerops.imports.kinds import IMPORTERS, NUMBER_HELP, Run, _duplicate, _minor
from kerops.imports.sheets import Row, Sheet
from kerops.inventory import ledger
from kerops.inventory.models import InventoryStock, Product, Warehouse
from kerops.inventory.units import decimals, fits

#: The largest quantity a cell may hold (stored in thousandths in a BIGINT).
MAX_QUANTITY = Decimal(10) ** 12
#: The largest unit cost a cell may hold, in the currency's units.
MAX_UNIT_COST = Decimal(10) ** 12
#: Columns the stock export adds for people to read; an import ignores them.
SHOWN_ONLY = (
    ("product_name", "producto", "product"),
    ("unit", "unidad", "unit"),
    ("reserved", "reservado", "reserved"),
    ("available", "disponible", "available"),
    ("on_order", "en pedido", "on order"),
    ("average_cost", "costo promedio", "average cost"),
)
SHOWN_HELP = N_("Shown by the export; an import ignores it.")

declare(
    ImportKind.stock,
    [
        Column(
            "warehouse",
            "bodega",
            "warehouse",
            text(32),
            True,
            N_("The warehouse's code."),
            "CENTRAL",
            "CENTRAL",
        ),
        Column(
            "sku",
            "sku",
            "sku",
            text(64),
            True,
            N_("The product's SKU in your catalogue."),
            "FIL-001",
            "FIL-001",
        ),
        Column(
            "on_hand",
            "existencia",
            "on hand",
            read_decimal,
            True,
            N_("The quantity the warehouse holds, in the product's unit."),
            "12",
            "12",
        ),
        Column(
            "unit_cost",
            "costo unitario",
            "unit cost",
            read_decimal,
            False,
            N_("The unit cost of what the import adds, in the product's currency."),
            "8.500",
            "8500",
        ),
        Column(
            "reorder_point",
            "punto de reorden",
            "reorder point",
            read_decimal,
            False,
            NUMBER_HELP,
            "4",
            "4",
        ),
        Column(
            "reorder_quantity",
            "cantidad de reorden",
            "reorder quantity",
            read_decimal,
            False,
            NUMBER_HELP,
            "10",
            "10",
        ),
        Column(
            "bin_location",
            "ubicación",
            "bin location",
            text(64),
            False,
            N_("Where in the warehouse (aisle, shelf, bin)."),
            "A-03-2",
            "A-03-2",
        ),
        *(Column(key, es, en, text(200), False, SHOWN_HELP) for key, es, en in SHOWN_ONLY),
    ],
)


@dataclass(frozen=True, slots=True)
class _Item:
    """A product a file may name: its unit (decimals) and currency (costs)."""

    id: uuid.UUID
    unit: str
    currency: str
    is_stocked: bool


@dataclass(slots=True)
class _Line:
    """A checked row: where, what, the quantity it sets and its settings."""

    row: Row
    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    on_hand: Decimal
    unit_cost_minor: int | None
    settings: dict[str, Any]


async def _writable_warehouses(run: Run) -> dict[str, uuid.UUID]:
    """The warehouses the caller manages, by code (403 when none, or for a technician)."""
    principal = run.principal
    if principal.client_id is None or principal.role is UserRole.technician:
        raise Forbidden(
            gettext("Only those who manage warehouses can import stock."), code="import_forbidden"
        )
    columns = cast("Select[Any]", select(Warehouse.id, Warehouse.code))
    stmt = access.scoped(columns, Warehouse, principal, "write")
    found = {str(code).casefold(): wid for wid, code in (await run.session.execute(stmt)).all()}
    if not found:
        raise Forbidden(
            gettext("Only those who manage warehouses can import stock."), code="import_forbidden"
        )
    return found


async def _products(run: Run, client_id: uuid.UUID) -> dict[str, _Item]:
    stmt = select(
        Product.sku, Product.id, Product.unit, Product.currency, Product.is_stocked
    ).where(Product.client_id == client_id)
    return {
        str(sku).casefold(): _Item(pid, unit, currency, stocked)
        for sku, pid, unit, currency, stocked in (await run.session.execute(stmt)).all()
    }


def _quantity(sheet: Sheet, row: Row, key: str, unit: str) -> Decimal | None:
    """A quantity cell: not negative, not too large, no more decimals than ``unit`` allows."""
    if key not in row.values:
        return None
    value: Decimal = row.values[key]
    if value < 0:
        sheet.problem(row, key, "negative_quantity", gettext("A quantity cannot be below zero."))
        return None
    if value >= MAX_QUANTITY:
        sheet.problem(row, key, "out_of_range", gettext("This quantity is too large."))
        return None
    if not fits(value, unit):
        sheet.problem(
            row,
            key,
            "too_many_decimals",
            gettext(
                "A quantity of {unit} has at most {digits} decimals.",
                unit=unit,
                digits=decimals(unit),
            ),
        )
        return None
    return value


def _check(
    sheet: Sheet, row: Row, warehouses: dict[str, uuid.UUID], products: dict[str, _Item]
) -> _Line | None:
    """A row checked on its own (None, with its problems, when wrong)."""
    warehouse_id = warehouses.get(str(row.values["warehouse"]).casefold())
    if warehouse_id is None:
        sheet.problem(
            row,
            "warehouse",
            "warehouse_not_found",
            gettext("No warehouse with this code that you manage."),
        )
    item = products.get(str(row.values["sku"]).casefold())
    if item is None:
        sheet.problem(
            row, "sku", "product_not_found", gettext("No product of your catalogue has this SKU.")
        )
        return None
    if not item.is_stocked:
        sheet.problem(
            row, "sku", "not_stocked", gettext("This product is not kept in stock (a service).")
        )
        return None
    on_hand = _quantity(sheet, row, "on_hand", item.unit)
    settings: dict[str, Any] = {
        key: value
        for key in ("reorder_point", "reorder_quantity")
        if (value := _quantity(sheet, row, key, item.unit)) is not None
    }
    if "bin_location" in row.values:
        settings["bin_location"] = str(row.values["bin_location"])
    cost = None
    if "unit_cost" in row.values:
        if row.values["unit_cost"] < 0:
            sheet.problem(
                row, "unit_cost", "negative_amount", gettext("A cost cannot be negative.")
            )
        elif row.values["unit_cost"] >= MAX_UNIT_COST:
            sheet.problem(row, "unit_cost", "out_of_range", gettext("This cost is too large."))
        else:
            cost = _minor(sheet, row, "unit_cost", item.currency)
    if not row.ok or warehouse_id is None or on_hand is None:
        return None
    return _Line(row, warehouse_id, item.id, on_hand, cost, settings)


_TABLE = cast(Table, InventoryStock.__table__)
_STOCK_COLUMNS = (
    InventoryStock.id,
    InventoryStock.warehouse_id,
    InventoryStock.product_id,
    InventoryStock.on_hand,
    InventoryStock.reserved,
    InventoryStock.reorder_point,
    InventoryStock.reorder_quantity,
    InventoryStock.bin_location,
)
# In id order: two imports lock the rows they share in the same order (no deadlock).
_CURRENT = (
    select(*_STOCK_COLUMNS)
    .where(
        InventoryStock.warehouse_id.in_(bindparam("warehouses", expanding=True)),
        InventoryStock.product_id.in_(bindparam("products", expanding=True)),
    )
    .order_by(InventoryStock.id)
)
_SETTINGS = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("stock_id"))
    .values(
        reorder_point=bindparam("reorder_point"),
        reorder_quantity=bindparam("reorder_quantity"),
        bin_location=bindparam("bin_location"),
        updated_at=bindparam("now"),
    )
)


async def _current(run: Run, lines: list[_Line]) -> dict[tuple[uuid.UUID, uuid.UUID], Any]:
    """The stock rows the file names (locked on PostgreSQL for a real run), by pair."""
    dialect = run.session.get_bind().dialect.name
    stmt = _CURRENT.with_for_update() if dialect == "postgresql" and not run.dry_run else _CURRENT
    found: dict[tuple[uuid.UUID, uuid.UUID], Any] = {}
    for start in range(0, len(lines), ledger.BATCH_ROWS):
        batch = lines[start : start + ledger.BATCH_ROWS]
        pairs = {(x.warehouse_id, x.product_id) for x in batch}
        params = {
            "warehouses": sorted({x.warehouse_id for x in batch}),
            "products": sorted({x.product_id for x in batch}),
        }
        for row in (await run.session.execute(stmt, params)).all():
            if (row.warehouse_id, row.product_id) in pairs:
                found[(row.warehouse_id, row.product_id)] = row
    return found


async def import_stock(run: Run) -> int:
    """Stock levels of the warehouses the caller manages, matched by warehouse code and SKU."""
    sheet = run.sheet
    warehouses = await _writable_warehouses(run)
    client_id = run.principal.client_id
    assert client_id is not None
    products = await _products(run, client_id)
    seen: dict[str, int] = {}
    lines: list[_Line] = []
    for row in sheet.rows:
        if not row.ok:
            continue
        line = _check(sheet, row, warehouses, products)
        if line is None:
            continue
        if _duplicate(sheet, row, "sku", seen, f"{line.warehouse_id}:{line.product_id}"):
            continue
        lines.append(line)
    current = await _current(run, lines)
    for line in lines:
        stock = current.get((line.warehouse_id, line.product_id))
        if stock is not None and line.on_hand < stock.reserved:
            sheet.problem(
                line.row,
                "on_hand",
                "below_reserved",
                gettext(
                    "Tickets hold {reserved} of this stock; the quantity cannot be less.",
                    reserved=format(stock.reserved, "f"),
                ),
            )
    if run.writes:
        await _write(run, client_id, lines, current)
    return len(lines)


async def _write(
    run: Run,
    client_id: uuid.UUID,
    lines: list[_Line],
    current: dict[tuple[uuid.UUID, uuid.UUID], Any],
) -> None:
    """Settings first (missing stock rows created empty), then the differences as movements."""
    session = run.session
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for line in lines:
        stock = current.get((line.warehouse_id, line.product_id))
        if stock is None:
            new_rows.append(
                {
                    "id": uuid7(),
                    "client_id": client_id,
                    "warehouse_id": line.warehouse_id,
                    "product_id": line.product_id,
                    "on_hand": Decimal(0),
                    "reserved": Decimal(0),
                    "on_order": Decimal(0),
                    "reorder_point": line.settings.get("reorder_point", Decimal(0)),
                    "reorder_quantity": line.settings.get("reorder_quantity", Decimal(0)),
                    "bin_location": line.settings.get("bin_location", ""),
                    "average_cost_minor": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif line.settings:
            changed.append(
                {
                    "stock_id": stock.id,
                    "reorder_point": line.settings.get("reorder_point", stock.reorder_point),
                    "reorder_quantity": line.settings.get(
                        "reorder_quantity", stock.reorder_quantity
                    ),
                    "bin_location": line.settings.get("bin_location", stock.bin_location),
                    "now": now,
                }
            )
    if new_rows:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(
            insert(_TABLE).on_conflict_do_nothing(index_elements=["warehouse_id", "product_id"]),
            new_rows,
        )
    if changed:
        await session.execute(_SETTINGS, changed)
    changes = [
        ledger.BatchMove(
            line.warehouse_id,
            line.product_id,
            line.on_hand - (stock.on_hand if stock is not None else Decimal(0)),
            line.unit_cost_minor,
        )
        for line in lines
        if (stock := current.get((line.warehouse_id, line.product_id))) is None
        or line.on_hand != stock.on_hand
    ]
    await ledger.move_many(
        session,
        client_id=client_id,
        changes=[c for c in changes if c.quantity != 0],
        kind=MovementKind.adjustment,
        document_kind=MovementDocument.stock_import,
        document_id=uuid7(),
        actor_id=run.principal.user_id,
        reason="import",
    )


IMPORTERS[ImportKind.stock] = import_stock
