"""The filter vocabulary shared by every list: text search across columns, membership in a list
of values."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from sqlalchemy import ColumnElement, any_, bindparam, or_
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import QueryableAttribute

from kerops.core.schemas import ApiDateTime

#: The description of every list's ``updated_since`` (``kerops.core.schemas.UpdatedSince``).
UPDATED_SINCE = (
    "Only objects changed at or after this instant (inclusive; compare the `updated_at` "
    "of the objects you keep, or `created_at` for rows that never change)"
)
#: A list's ``updated_since`` query parameter: objects changed at or after the instant.
UpdatedSince = Annotated[ApiDateTime | None, Query(description=UPDATED_SINCE)]


def text_search(q: str, *columns: Any) -> ColumnElement[bool]:
    """Case-insensitive "contains" over any of ``columns`` (wildcards in ``q`` match literally)."""
    return or_(*(column.icontains(q, autoescape=True) for column in columns))


def one_of(
    column: ColumnElement[Any] | QueryableAttribute[Any], name: str, dialect_name: str
) -> ColumnElement[bool]:
    """``column`` is one of the values of the list bound as ``name``.

    On PostgreSQL ``column = ANY(:name)`` with the list sent as one array: the statement's text
    is the same whatever the list's length, so the driver prepares it once. Elsewhere an
    expanding ``IN``, whose text SQLAlchemy renders for each length (and a driver prepares once
    per length): for a list whose length changes from call to call, PostgreSQL's form costs a
    fraction of the CPU. Build the statement once per dialect and pick it by the connection's."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))
