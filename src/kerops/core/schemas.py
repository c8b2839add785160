"""Base schemas: inputs refuse unknown fields; outputs read from ORM objects."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    model_validator,
)


class InputModel(BaseModel):
    """Base of every request body: unknown fields are refused (422), and so is text that no
    database column can hold (a NUL character, an unpaired surrogate), wherever it is in the
    body: the same answer on SQLite, which would store it, as on PostgreSQL, which cannot."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="wrap")
    @classmethod
    def _storable_text(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # The fields first: those that check their own text report it at their own location.
        model = handler(data)
        if (where := _unstorable_text(data)) is not None:
            raise ValueError(
                f"text at {where or 'the top'} has a NUL character or is not valid Unicode"
            )
        return model


class ReadModel(BaseModel):
    """Base of every response body, built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Phone = Annotated[
    str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{6,20}$", strip_whitespace=True)
]


#: Money columns are 64-bit; amounts stay within what JSON clients read exactly (2**53).
MAX_MINOR = 9_007_199_254_740_991
#: An amount in minor units of its currency (CLP has none: 1 is one peso).
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR)]
#: An ISO 4217 currency code (CLP, USD, EUR; the UF is CLF).
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _unstorable_text(data: Any, path: str = "") -> str | None:
    """The dotted path of the first string (value or key) in ``data`` with a NUL character or an
    unpaired surrogate (which no UTF-8 database text can hold), or None."""
    if isinstance(data, str):
        if "\x00" in data or (not data.isascii() and not _encodes(data)):
            return path
        return None
    if isinstance(data, dict):
        for key, value in data.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _unstorable_text(key) is not None:
                return inner
            if (found := _unstorable_text(value, inner)) is not None:
                return found
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            if (
                found := _unstorable_text(value, f"{path}.{index}" if path else str(index))
            ) is not None:
                return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def no_nul(value: str) -> str:
    """Refuse NUL characters (PostgreSQL cannot store them in text)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def refuse_null(value: Any) -> Any:
    """For updates: an omitted field keeps its value, an explicit ``null`` is refused."""
    if value is None:
        raise ValueError("may be left out but not null")
    return value
