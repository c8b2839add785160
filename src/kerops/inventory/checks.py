"""Checks the stores share: barcodes, units and the decimals of a quantity, each a 422 with
its own code and the offending field."""

from __future__ import annotations

from decimal import Decimal

from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.inventory import units

#: Lengths of the GS1 codes a barcode may be: EAN-8, UPC-A, EAN-13, GTIN-14.
BARCODE_LENGTHS = frozenset({8, 12, 13, 14})


def barcode_ok(code: str) -> bool:
    """Whether ``code`` is an EAN-8, UPC-A, EAN-13 or GTIN-14 with a valid check digit (GS1:
    from the right, the digits before the check digit weigh 3, 1, 3, ...)."""
    if len(code) not in BARCODE_LENGTHS or not code.isascii() or not code.isdigit():
        return False
    body = [int(c) for c in code[:-1]]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == int(code[-1])


def invalid(loc: tuple[str | int, ...], message: str, code: str) -> Unprocessable:
    """A 422 whose problem ``code`` is also the field error's type."""
    return Unprocessable(message, code=code, errors=[field_error(loc, message, code)])


def check_barcode(code: str | None) -> None:
    """422 ``invalid_barcode`` unless ``code`` is empty or a valid GS1 code."""
    if code is not None and not barcode_ok(code):
        raise invalid(
            ("body", "barcode"),
            gettext("A barcode is an EAN-8, UPC-A, EAN-13 or GTIN-14 with a valid check digit."),
            "invalid_barcode",
        )


def check_unit(unit: str | None) -> None:
    """422 ``unknown_unit`` unless ``unit`` is a code of ``units.UNITS``."""
    if unit is not None and unit not in units.UNITS:
        raise invalid(
            ("body", "unit"),
            gettext("Unknown unit; use one of: {units}.", units=", ".join(units.UNITS)),
            "unknown_unit",
        )


def check_quantity(quantity: Decimal, unit: str, loc: tuple[str | int, ...]) -> None:
    """422 ``too_many_decimals`` when ``quantity`` has more decimals than ``unit`` allows."""
    if not units.fits(quantity, unit):
        raise invalid(
            loc,
            gettext(
                "A quantity of unit {unit} has at most {digits} decimals.",
                unit=unit,
                digits=units.decimals(unit) or 0,
            ),
            "too_many_decimals",
        )
