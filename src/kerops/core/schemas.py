"""Base schemas: inputs refuse unknown fields; outputs read from ORM objects."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints


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


def refuse_null(value: Any) -> Any:
    """For updates: an omitted field keeps its value, an explicit ``null`` is refused."""
    if value is None:
        raise ValueError("may be left out but not null")
    return value
