"""What a read-only route sends: an object, or a page of objects, as its schema's JSON.

A ``Document`` names a model and the schema a route shows it as; it renders rows (the model's
columns by name, as ``kerops.core.reads.Reader`` reads them) into the response to send, validated
into the schema once and serialised by Pydantic, as FastAPI would with a ``response_model``,
without validating the model a second time. Reading is not done here: the reader reads, the
document renders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

from kerops.core.models import Base
from kerops.core.pagination import Page

#: What a document shows of rows the reader may read, when that depends on more than the row
#: (e.g. a ticket's diagnosis citing other tickets): called with the reader
#: (``kerops.core.reads.Reader``) and the rows of one answer, it returns them changed or copied,
#: in order.
Shown = Callable[[Any, list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


def render(schema: type[BaseModel], data: Mapping[str, Any]) -> Response:
    """``data`` validated into ``schema`` and sent as its JSON (what FastAPI does with a
    ``response_model``, without validating the model a second time)."""
    model = schema.model_validate(data)
    body = schema.__pydantic_serializer__.to_json(model, by_alias=True)
    return Response(content=body, media_type="application/json")


class Document:
    """How read-only routes show objects of ``model``: ``schema``'s JSON from the object's
    columns. Every field of ``schema`` must be a column of ``model`` (checked here, when the
    route's module is imported), so nothing the ORM object would have given is missing from the
    row. ``shown``, when given, sees every row (one call per answer, a whole page at once) before
    it is validated into ``schema``."""

    __slots__ = ("model", "page_schema", "schema", "shown")

    def __init__(
        self, model: type[Base], schema: type[BaseModel], *, shown: Shown | None = None
    ) -> None:
        columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
        if missing := sorted(set(schema.model_fields) - columns):
            raise TypeError(f"{schema.__name__} has fields that are not columns: {missing}")
        self.model = model
        self.schema = schema
        self.page_schema: type[BaseModel] = Page[schema]  # type: ignore[valid-type]
        self.shown = shown

    def render(self, row: Mapping[str, Any]) -> Response:
        """One object (its columns by name) as the response to send."""
        return render(self.schema, row)

    def render_page(self, items: Sequence[Mapping[str, Any]], cursor: str | None) -> Response:
        """A page of objects (each its columns by name) as the response to send."""
        return render(self.page_schema, {"items": items, "next_cursor": cursor})
