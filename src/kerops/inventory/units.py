"""Units of measure: the codes a product's ``unit`` may take and how many decimals a quantity
of each may have (a cable is cut by the centimetre, a filter comes whole). Quantities are
stored in thousandths (``kerops.core.types.Quantity``), so no unit allows more than three."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

#: unit code → decimals a quantity of it may have.
UNITS: Final[dict[str, int]] = {
    "unit": 0,  # a piece
    "pair": 0,
    "set": 0,
    "box": 0,
    "pack": 0,
    "roll": 0,
    "m": 2,
    "m2": 2,
    "m3": 3,
    "kg": 3,
    "g": 0,
    "l": 3,
    "ml": 0,
    "h": 2,
}


def decimals(unit: str) -> int | None:
    """How many decimals a quantity of ``unit`` may have (None: not a known unit)."""
    return UNITS.get(unit)


def fits(quantity: Decimal, unit: str) -> bool:
    """Whether ``quantity`` has no more decimals than ``unit`` allows (False for an unknown
    unit)."""
    allowed = UNITS.get(unit)
    if allowed is None or not quantity.is_finite():
        return False
    exponent = quantity.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent <= allowed
