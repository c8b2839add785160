"""Chilean tax ids (RUT): check digit (module 11), parsing and the normalised form "76086428-5"."""

from __future__ import annotations

import re

from kerops.core.i18n import N_

MAX_BODY = 99_999_999
_SHAPE = re.compile(r"^(\d{1,8})-?([0-9K])$")


def check_digit(body: int) -> str:
    """The module-11 check digit of a RUT's numeric body ("0"-"9" or "K")."""
    if body < 1 or body > MAX_BODY:
        raise ValueError(N_("a RUT number is between 1 and 99.999.999"))
    total = 0
    factor = 2
    while body:
        body, digit = divmod(body, 10)
        total += digit * factor
        factor = 2 if factor == 7 else factor + 1
    remainder = 11 - total % 11
    if remainder == 11:
        return "0"
    if remainder == 10:
        return "K"
    return str(remainder)


def normalise_rut(value: str) -> str:
    """Parse "76.086.428-5", "76086428-5" or "760864285" (K or k) into "76086428-5".

    Raises ``ValueError`` when the shape is wrong or the check digit does not match.
    """
    compact = value.strip().replace(".", "").upper()
    match = _SHAPE.match(compact)
    if match is None:
        raise ValueError(
            N_("a RUT looks like 76.086.428-5: up to 8 digits, a dash and a check digit")
        )
    body = int(match.group(1))
    if body < 1:
        raise ValueError(N_("the RUT number must be greater than zero"))
    if match.group(2) != check_digit(body):
        raise ValueError(N_("the RUT check digit does not match its number"))
    return f"{body}-{match.group(2)}"
