"""The amounts of a purchase order, in integer minor units of its currency, never typed by the
client: a line's net is its quantity times its unit price rounded half up to the minor unit; the
order's net is the sum of its lines' nets; IVA is 19 % of the order's net, rounded half up once,
on the total (never line by line); the total is net plus IVA."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from kerops.core.types import quantity_to_stored, thousandths_to_minor

#: Chile's IVA, in percent.
IVA_PERCENT = 19


def line_net(quantity: Decimal, unit_price_minor: int) -> int:
    """``quantity`` times ``unit_price_minor`` rounded half up to the minor unit (the quantity is
    exact thousandths, so the product is exact before the one rounding)."""
    return thousandths_to_minor(quantity_to_stored(quantity) * unit_price_minor)


@dataclass(frozen=True)
class Totals:
    """An order's net, IVA and total."""

    net_minor: int
    tax_minor: int
    total_minor: int


def totals(line_nets: Iterable[int]) -> Totals:
    """The order's amounts from its lines' nets: IVA rounded half up once, on the net."""
    net = sum(line_nets)
    tax = (net * IVA_PERCENT + 50) // 100
    return Totals(net_minor=net, tax_minor=tax, total_minor=net + tax)
