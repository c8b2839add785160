"""A purchase order as a PDF (fpdf2), in the reader's language (Spanish by default): the vendor
and its RUT, the order's number and date, the destination, the lines, net, IVA and total in the
currency's format (``$ 1.234.567`` for CLP in es-CL).

The text is set in fpdf2's core fonts (Helvetica), which print Latin-1: Spanish prints whole
(á, ñ, ¿, º); a character outside Latin-1 in a name or a line prints as ``?``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.numbers import get_currency_precision
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import formats
from kerops.core.i18n import gettext
from kerops.core.types import utcnow
from kerops.inventory.models import Warehouse
from kerops.purchasing.models import PurchaseOrder, PurchaseOrderLine
from kerops.users.models import Client, Vendor

FONT = "Helvetica"


@dataclass(frozen=True)
class Parties:
    """Who an order is from and to, as printed."""

    client_name: str
    vendor_name: str
    vendor_rut: str
    vendor_email: str | None
    warehouse_name: str
    warehouse_code: str


def format_rut(rut: str) -> str:
    """A normalised RUT (``76086428-5``) as people write it: ``76.086.428-5``."""
    body, _, digit = rut.partition("-")
    if not body.isdigit() or not digit:
        return rut
    return f"{int(body):,}".replace(",", ".") + f"-{digit}"


def order_code(number: int) -> str:
    """An order's number as printed: ``OC-000042``."""
    return f"OC-{number:06d}"


def money(minor: int, currency: str, language: str) -> str:
    """Minor units of ``currency`` as people read them."""
    amount = Decimal(minor).scaleb(-get_currency_precision(currency))
    return formats.format_money(amount, currency, language)


def latin1(text: str) -> str:
    """``text`` as the core fonts print it: a character outside Latin-1 becomes ``?``."""
    return text.encode("latin-1", errors="replace").decode("latin-1")


def render(
    order: PurchaseOrder,
    lines: Sequence[PurchaseOrderLine],
    parties: Parties,
    language: str,
    *,
    on: date,
) -> bytes:
    """The order's PDF, its texts in ``language``."""
    pdf = FPDF(format="A4")
    pdf.compress = False  # small files; their text stays searchable
    pdf.set_title(latin1(order_code(order.number)))
    pdf.set_author(latin1(parties.client_name))
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)

    def text(value: str, width: float = 0, *, align: str = "L", newline: bool = True) -> None:
        pdf.cell(
            width,
            7,
            latin1(value),
            align=align,
            new_x="LMARGIN" if newline else "RIGHT",
            new_y="NEXT" if newline else "TOP",
        )

    text(gettext("Purchase order {number}", language, number=order_code(order.number)))
    pdf.set_font(FONT, "", 10)
    text(parties.client_name)
    text(gettext("Date: {date}", language, date=formats.format_day(on, language)))
    if order.expected_on is not None:
        text(
            gettext(
                "Expected on: {date}",
                language,
                date=formats.format_day(order.expected_on, language),
            )
        )
    pdf.ln(3)
    pdf.set_font(FONT, "B", 11)
    text(gettext("Vendor", language))
    pdf.set_font(FONT, "", 10)
    text(parties.vendor_name)
    text(gettext("RUT: {rut}", language, rut=format_rut(parties.vendor_rut)))
    if parties.vendor_email:
        text(parties.vendor_email)
    pdf.ln(3)
    pdf.set_font(FONT, "B", 11)
    text(gettext("Deliver to", language))
    pdf.set_font(FONT, "", 10)
    text(f"{parties.warehouse_name} ({parties.warehouse_code})")
    pdf.ln(4)

    widths = (90, 25, 35, 40)
    pdf.set_font(FONT, "B", 10)
    headers = (
        gettext("Description", language),
        gettext("Quantity", language),
        gettext("Unit price", language),
        gettext("Net", language),
    )
    for index, (header, width) in enumerate(zip(headers, widths, strict=True)):
        text(header, width, align="L" if index == 0 else "R", newline=index == len(widths) - 1)
    pdf.set_font(FONT, "", 10)
    for line in lines:
        cells = (
            line.description[:60],
            formats.format_number(line.quantity, language),
            money(line.unit_price_minor, order.currency, language),
            money(line.net_minor, order.currency, language),
        )
        for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            text(cell, width, align="L" if index == 0 else "R", newline=index == len(widths) - 1)
    pdf.ln(3)
    for label, minor in (
        (gettext("Net", language), order.net_minor),
        (gettext("IVA (19 %)", language), order.tax_minor),
        (gettext("Total", language), order.total_minor),
    ):
        text(label, sum(widths[:3]), align="R", newline=False)
        text(money(minor, order.currency, language), widths[3], align="R")
    if order.notes:
        pdf.ln(4)
        pdf.multi_cell(0, 6, latin1(order.notes[:2000]))
    return bytes(pdf.output())


async def document(session: AsyncSession, order: PurchaseOrder, language: str) -> bytes:
    """Render ``order`` (already checked by the caller) with its lines, vendor and destination."""
    found = (
        await session.execute(
            select(Client.name, Vendor, Warehouse)
            .select_from(PurchaseOrder)
            .join(Client, Client.id == PurchaseOrder.client_id)
            .join(Vendor, Vendor.id == PurchaseOrder.vendor_id)
            .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
            .where(PurchaseOrder.id == order.id)
        )
    ).one()
    client_name, vendor, warehouse = found
    lines = (
        await session.execute(
            select(PurchaseOrderLine)
            .where(PurchaseOrderLine.order_id == order.id)
            .order_by(PurchaseOrderLine.position)
        )
    ).scalars()
    parties = Parties(
        client_name=client_name,
        vendor_name=vendor.name,
        vendor_rut=vendor.rut,
        vendor_email=vendor.contact_email,
        warehouse_name=warehouse.name,
        warehouse_code=warehouse.code,
    )
    when = (order.ordered_at or order.created_at or utcnow()).date()
    return render(order, list(lines), parties, language, on=when)
