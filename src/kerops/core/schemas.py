"""Base schemas: inputs refuse unknown fields; outputs read from ORM objects."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class InputModel(BaseModel):
    """Base of every request body: unknown fields are refused (422)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
