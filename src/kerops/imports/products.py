"""What stores need of a product, as columns of the products import (and of its export): the
unit (a code of ``kerops.inventory.units.UNITS``), the barcode with its check digit, the
preferred vendor (by RUT or exact name, among the vendors the caller sees), the vendor's SKU,
the lead time in days and whether the product is kept in stock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.i18n import N_, gettext
from kerops.core.principal import Principal
from kerops.imports.columns import CellError, Column, Reading, as_text, integer, text, yes_no
from kerops.imports.sheets import Row, Sheet
from kerops.inventory.checks import barcode_ok
from kerops.inventory.models import Product
from kerops.inventory.units import UNITS
from kerops.users.models import Vendor
from kerops.users.rut import normalise_rut

#: Spanish names of the units a file may use instead of their codes.
UNIT_ALIASES = {
    "unidad": "unit",
    "par": "pair",
    "juego": "set",
    "caja": "box",
    "paquete": "pack",
    "rollo": "roll",
}


def unit_code(value: Any, _reading: Reading) -> str:
    """A unit of measure: a code of ``UNITS`` or its Spanish name (422 ``unknown_unit``)."""
    raw = as_text(value).strip().casefold()
    found = UNIT_ALIASES.get(raw, raw)
    if found not in UNITS:
        raise CellError(
            "unknown_unit",
            gettext("Unknown unit; allowed units: {units}.", units=", ".join(UNITS)),
        )
    return found


def barcode(value: Any, _reading: Reading) -> str:
    """An EAN-13, EAN-8, UPC-A or GTIN-14 barcode whose check digit is right."""
    raw = as_text(value).replace(" ", "")
    if not barcode_ok(raw):
        raise CellError(
            "invalid_barcode",
            gettext("A barcode is an EAN-8, UPC-A, EAN-13 or GTIN-14 with a valid check digit."),
        )
    return raw


def lead_time(value: Any, reading: Reading) -> int:
    """Days from order to delivery: a whole number from 0 to 365."""
    days = integer(value, reading)
    if not 0 <= days <= 365:
        raise CellError("out_of_range", gettext("Write a number of days from 0 to 365."))
    return days


#: The columns the products import gains for stores (after its own).
PRODUCT_STORE_COLUMNS = (
    Column(
        "barcode",
        "código de barras",
        "barcode",
        barcode,
        False,
        N_("EAN-13, EAN-8, UPC-A or GTIN-14 digits; the check digit is verified."),
        "7801234567894",
        "7801234567894",
    ),
    Column(
        "preferred_vendor",
        "proveedor preferido",
        "preferred vendor",
        text(200),
        False,
        N_("The RUT or exact name of a vendor you see."),
        "76.123.456-0",
        "76.123.456-0",
    ),
    Column(
        "vendor_sku",
        "sku del proveedor",
        "vendor sku",
        text(64),
        False,
        N_("The vendor's own code of the product."),
        "AF-2424",
        "AF-2424",
    ),
    Column(
        "lead_time_days",
        "días de entrega",
        "lead time days",
        lead_time,
        False,
        N_("Days from order to delivery (0 to 365)."),
        "7",
        "7",
    ),
    Column(
        "is_stocked",
        "se almacena",
        "stocked",
        yes_no,
        False,
        N_("Whether it is kept in warehouses (a service is not): sí or no."),
        "sí",
        "yes",
    ),
)
STORE_KEYS = tuple(column.key for column in PRODUCT_STORE_COLUMNS)


def _rut_or_none(value: str) -> str | None:
    """``value`` as vendors' RUTs are stored (``normalise_rut``), None when it is not one."""
    try:
        return normalise_rut(value)
    except ValueError:
        return None


@dataclass
class StoreColumns:
    """What the store columns of a file are checked against: the vendors the caller sees and
    the barcodes already in the client's catalogue."""

    by_rut: dict[str, uuid.UUID]
    by_name: dict[str, list[uuid.UUID]]
    barcodes: set[str]
    seen_barcodes: dict[str, int]

    @classmethod
    async def load(
        cls, session: AsyncSession, principal: Principal, client_id: uuid.UUID
    ) -> StoreColumns:
        """The vendors the caller reads and the client's barcodes (two queries)."""
        columns = cast("Select[Any]", select(Vendor.id, Vendor.rut, Vendor.name))
        vendors = access.scoped(columns, Vendor, principal)
        by_rut: dict[str, uuid.UUID] = {}
        by_name: dict[str, list[uuid.UUID]] = {}
        for vendor_id, rut, name in (await session.execute(vendors)).all():
            by_rut[_rut_or_none(rut) or rut] = vendor_id
            by_name.setdefault(name.casefold(), []).append(vendor_id)
        stored = select(Product.barcode).where(
            Product.client_id == client_id, Product.barcode.is_not(None)
        )
        barcodes = {str(b) for b in (await session.execute(stored)).scalars()}
        return cls(by_rut, by_name, barcodes, {})

    def read(self, sheet: Sheet, row: Row) -> dict[str, Any] | None:
        """The store fields of a row (None, with its problems, when one is wrong)."""
        values = row.values
        found: dict[str, Any] = {
            "vendor_sku": values.get("vendor_sku", ""),
            "lead_time_days": values.get("lead_time_days", 0),
            "is_stocked": values.get("is_stocked", True),
            "barcode": values.get("barcode"),
            "preferred_vendor_id": None,
        }
        code = found["barcode"]
        if code is not None:
            first = self.seen_barcodes.setdefault(code, row.number)
            if first != row.number:
                sheet.problem(
                    row,
                    "barcode",
                    "duplicate_in_file",
                    gettext("Row {row} already has this value.", row=first),
                )
            elif code in self.barcodes:
                sheet.problem(
                    row,
                    "barcode",
                    "barcode_taken",
                    gettext("Another product of your catalogue has this barcode."),
                )
        if "preferred_vendor" in values:
            named = str(values["preferred_vendor"])
            rut = _rut_or_none(named)
            vendor_id = None if rut is None else self.by_rut.get(rut)
            candidates = self.by_name.get(named.casefold(), [])
            if vendor_id is None and len(candidates) == 1:
                vendor_id = candidates[0]
            if vendor_id is None:
                sheet.problem(
                    row,
                    "preferred_vendor",
                    "vendor_not_found",
                    gettext("No vendor you see has this RUT or name (or several have it)."),
                )
            found["preferred_vendor_id"] = vendor_id
        return found if row.ok else None
