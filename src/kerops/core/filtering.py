"""The filter vocabulary shared by every list: text search across columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_


def text_search(q: str, *columns: Any) -> ColumnElement[bool]:
    """Case-insensitive "contains" over any of ``columns`` (wildcards in ``q`` match literally)."""
    return or_(*(column.icontains(q, autoescape=True) for column in columns))
