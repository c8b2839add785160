"""Exports of the product catalogue and of stock levels, in the columns of their imports (the
headers of the import's template, numbers as the import reads them in that language), so an
exported file imports again. CSV is streamed in chunks as it is written; XLSX is one workbook.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import xlsxwriter
from sqlalchemy import Select, select

from kerops.core import access
from kerops.core.errors import Forbidden
from kerops.core.i18n import gettext
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.exports.service import neutralised
from kerops.imports.columns import ImportKind, columns_of
from kerops.imports.kinds import _NO_DECIMALS
from kerops.inventory.models import InventoryStock, Product, Warehouse
from kerops.users.models import Vendor

#: Rows written per chunk of a streamed CSV.
CHUNK_ROWS = 500


@dataclass(frozen=True, slots=True)
class Table:
    """An export's header and rows; a cell is text, a ``Decimal``, an int, a bool or None."""

    headers: list[str]
    rows: Sequence[Sequence[Any]]


def major_units(minor: int, currency: str) -> Decimal:
    """An amount in minor units as the currency's units (pesos; dollars with cents)."""
    return Decimal(minor) if currency in _NO_DECIMALS else Decimal(minor).scaleb(-2)


def _text(value: Any, language: str, *, csv_cell: bool = True) -> str:
    """A cell as the import reads it in ``language`` (decimal comma in es-CL); a CSV cell
    that a spreadsheet would run as a formula gets a leading apostrophe (an XLSX text cell is
    never run: it is written as it is)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes", language) if value else gettext("no", language)
    if isinstance(value, Decimal):
        written = format(value.normalize(), "f") if value else "0"
        return written if language == "en" else written.replace(".", ",")
    if isinstance(value, int):
        return str(value)
    return neutralised(str(value)) if csv_cell else str(value)


def csv_chunks(table: Table, language: str) -> Iterator[bytes]:
    """The table as CSV (UTF-8 with BOM; ``;`` between cells in es-CL, ``,`` in English), in
    chunks of ``CHUNK_ROWS`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="," if language == "en" else ";", lineterminator="\r\n")
    writer.writerow([neutralised(h) for h in table.headers])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for start in range(0, len(table.rows), CHUNK_ROWS):
        buffer.seek(0)
        buffer.truncate()
        for row in table.rows[start : start + CHUNK_ROWS]:
            writer.writerow([_text(value, language) for value in row])
        yield buffer.getvalue().encode("utf-8")


def xlsx_bytes(table: Table, title: str, language: str) -> bytes:
    """The table as an XLSX workbook: numbers as numbers, everything else as text."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = book.add_worksheet(title[:31])
    bold = book.add_format({"bold": True})
    for col, header in enumerate(table.headers):
        sheet.write_string(0, col, header, bold)
    for number, row in enumerate(table.rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, Decimal | int) and not isinstance(value, bool):
                sheet.write_number(number, col, float(value))
            else:
                sheet.write_string(number, col, _text(value, language, csv_cell=False))
    book.close()
    return buffer.getvalue()


def _headers(kind: ImportKind, keys: Sequence[str], language: str) -> list[str]:
    by_key = {column.key: column for column in columns_of(kind).columns}
    return [by_key[key].header(language) for key in keys]


# --- products ------------------------------------------------------------------------------------

PRODUCT_KEYS = (
    "sku",
    "name",
    "category",
    "description",
    "unit",
    "price",
    "cost",
    "currency",
    "is_active",
    "barcode",
    "preferred_vendor",
    "vendor_sku",
    "lead_time_days",
    "is_stocked",
)
_PRODUCTS = cast(
    "Select[Any]",
    select(
        Product.sku,
        Product.name,
        Product.category,
        Product.description,
        Product.unit,
        Product.price_minor,
        Product.cost_minor,
        Product.currency,
        Product.is_active,
        Product.barcode,
        Vendor.rut,
        Product.vendor_sku,
        Product.lead_time_days,
        Product.is_stocked,
    )
    .outerjoin(Vendor, Vendor.id == Product.preferred_vendor_id)
    .order_by(Product.sku, Product.id),
)


def _product_client(principal: Principal) -> uuid.UUID:
    if principal.client_id is None or not principal.is_client_admin:
        raise Forbidden(
            gettext("Only the client's owner and admins can export the catalogue."),
            code="export_forbidden",
        )
    return principal.client_id


async def products_table(reader: Reader, *, language: str) -> Table:
    """The caller's own catalogue (its owner and admins), one row per product, by SKU."""
    client_id = _product_client(reader.principal)
    stmt = access.scoped(
        _PRODUCTS.where(Product.client_id == client_id), Product, reader.principal, "write"
    )
    rows = []
    for r in await reader.runner.all(stmt):
        currency = str(r.currency)
        rows.append(
            [
                r.sku,
                r.name,
                r.category.value if hasattr(r.category, "value") else r.category,
                r.description or None,
                r.unit,
                major_units(int(r.price_minor), currency),
                major_units(int(r.cost_minor), currency),
                currency,
                bool(r.is_active),
                r.barcode,
                r.rut,
                r.vendor_sku or None,
                int(r.lead_time_days),
                bool(r.is_stocked),
            ]
        )
    return Table(_headers(ImportKind.products, PRODUCT_KEYS, language), rows)


# --- stock levels --------------------------------------------------------------------------------

STOCK_KEYS = (
    "warehouse",
    "sku",
    "product_name",
    "unit",
    "on_hand",
    "reserved",
    "available",
    "on_order",
    "reorder_point",
    "reorder_quantity",
    "bin_location",
    "average_cost",
)
_STOCK = cast(
    "Select[Any]",
    select(
        Warehouse.code,
        Product.sku,
        Product.name,
        Product.unit,
        Product.currency,
        InventoryStock.on_hand,
        InventoryStock.reserved,
        InventoryStock.on_order,
        InventoryStock.reorder_point,
        InventoryStock.reorder_quantity,
        InventoryStock.bin_location,
        InventoryStock.average_cost_minor,
    )
    .join(Warehouse, Warehouse.id == InventoryStock.warehouse_id)
    .join(Product, Product.id == InventoryStock.product_id)
    .order_by(Warehouse.code, Product.sku, InventoryStock.id),
)


async def stock_table(
    reader: Reader, *, language: str, warehouse_id: uuid.UUID | None = None
) -> Table:
    """The stock rows of the warehouses the caller reads (or of one), by warehouse and SKU."""
    stmt = access.scoped(_STOCK, InventoryStock, reader.principal)
    if warehouse_id is not None:
        stmt = stmt.where(InventoryStock.warehouse_id == warehouse_id)
    rows = [
        [
            r.code,
            r.sku,
            r.name,
            r.unit,
            r.on_hand,
            r.reserved,
            r.on_hand - r.reserved,
            r.on_order,
            r.reorder_point,
            r.reorder_quantity,
            r.bin_location or None,
            major_units(int(r.average_cost_minor), str(r.currency)),
        ]
        for r in await reader.runner.all(stmt)
    ]
    return Table(_headers(ImportKind.stock, STOCK_KEYS, language), rows)
