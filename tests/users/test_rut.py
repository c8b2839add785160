"""RUT parsing and its module-11 check digit."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kerops.users.rut import check_digit, normalise_rut

DIGITS = [*"0123456789", "K"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("76.086.428-5", "76086428-5"),
        ("76086428-5", "76086428-5"),
        ("760864285", "76086428-5"),
        (" 76.086.428-5 ", "76086428-5"),
        ("10.000.013-K", "10000013-K"),
        ("10000013-k", "10000013-K"),
        ("10000013k", "10000013-K"),
        ("11.111.111-1", "11111111-1"),
        ("1-9", "1-9"),
    ],
)
def test_accepted_forms_are_normalised(raw: str, expected: str) -> None:
    assert normalise_rut(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "-", "76.086.428-6", "76086428-K", "0-0", "123456789-0", "76O86428-5", "76086428--5", "K"],
)
def test_malformed_or_wrong_digit_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_rut(raw)


@given(st.integers(min_value=1, max_value=99_999_999))
def test_a_number_with_its_computed_digit_is_valid(body: int) -> None:
    digit = check_digit(body)
    assert digit in DIGITS
    assert normalise_rut(f"{body}-{digit}") == f"{body}-{digit}"
    assert normalise_rut(f"{body:,}".replace(",", ".") + digit.lower()) == f"{body}-{digit}"


@given(st.integers(min_value=1, max_value=99_999_999), st.sampled_from(DIGITS))
def test_any_other_digit_fails(body: int, digit: str) -> None:
    assume(digit != check_digit(body))
    with pytest.raises(ValueError):
        normalise_rut(f"{body}-{digit}")
