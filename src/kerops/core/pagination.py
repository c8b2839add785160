"""Keyset pagination: every list is ``{"items": [...], "next_cursor": ...}``, cursor opaque."""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kerops.config import get_settings
from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import gettext

T = TypeVar("T")


class RowSource(Protocol):
    """Where a page's rows of columns come from, without a session: the statement runner of
    reads (``kerops.core.reads.StatementRunner``)."""

    async def all(self, statement: Select[Any], params: Any = None) -> Sequence[Any]: ...


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class PageParams:
    """The paging part of a list request."""

    limit: int
    cursor: str | None
    sort: str | None


def sort_values(sort_fields: Iterable[str]) -> tuple[str, ...]:
    """The values ``sort`` takes for a list sorted by ``sort_fields``: each, then its ``-field``."""
    return tuple(value for name in sort_fields for value in (name, f"-{name}"))


def sorted_by(sort_fields: Iterable[str]) -> Any:
    """The paging dependency of a list whose whitelist of sorts is ``sort_fields`` (the keys given
    to ``paginate``): ``Annotated[PageParams, sorted_by(X_SORTS)]`` in a route. ``sort`` is an
    enum of the fields and their ``-field`` forms in the OpenAPI document, and any other value is
    a 422 in the validation shape before the route runs."""
    values = sort_values(sort_fields)
    literal: Any = Literal
    sort_type = literal[values]

    async def page_params(
        limit: int | None = None, cursor: str | None = None, sort: str | None = None
    ) -> PageParams:
        settings = get_settings()
        size = min(limit or settings.pagination_default_limit, settings.pagination_max_limit)
        return PageParams(limit=size, cursor=cursor, sort=sort)

    def query(name: str, annotation: Any) -> inspect.Parameter:
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
        )

    # The signature FastAPI reads: the enum is built at run time, from the route's whitelist.
    page_params.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            query(
                "limit",
                Annotated[int | None, Query(ge=1, description="Page size (capped by the server)")],
            ),
            query(
                "cursor",
                Annotated[str | None, Query(max_length=512, description="Opaque cursor")],
            ),
            query(
                "sort",
                Annotated[
                    sort_type | None,
                    Query(description="A field of the list's whitelist, '-field' for descending"),
                ],
            ),
        ],
        return_annotation=PageParams,
    )
    return Depends(page_params)


def _encode(value: Any) -> Any:
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "value"):
        return value.value
    return value


def _decode(column: InstrumentedAttribute[Any], value: Any) -> Any:
    python_type = column.type.python_type
    if value is None:
        return None
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if python_type in (int, float) and not isinstance(value, int | float):
        raise ValueError("bad number")
    return value


def _bad_cursor() -> Unprocessable:
    return Unprocessable(
        gettext("The cursor is not valid for this list and sort."),
        errors=[field_error(("query", "cursor"), gettext("invalid cursor"), "cursor_invalid")],
    )


@functools.lru_cache(maxsize=512)
def _after(
    column: InstrumentedAttribute[Any], id_column: InstrumentedAttribute[Any], descending: bool
) -> ColumnElement[bool]:
    """The keyset condition "after the cursor's row", its values bound parameters
    (``keyset_value``, ``keyset_id``): built once per sort, not per page. A row-value comparison:
    both databases seek the (…, sort, id) index with it."""
    last_id = bindparam("keyset_id", type_=id_column.type)
    if column is id_column:
        return id_column < last_id if descending else id_column > last_id
    here = tuple_(column, id_column)
    after = tuple_(bindparam("keyset_value", type_=column.type), last_id)
    return here < after if descending else here > after


async def paginate(
    session: AsyncSession | RowSource,
    stmt: Select[Any],
    params: PageParams,
    *,
    sort_fields: Mapping[str, InstrumentedAttribute[Any]],
    id_column: InstrumentedAttribute[Any],
    default_sort: str = "id",
    scalars: bool = True,
) -> tuple[Sequence[Any], str | None]:
    """Run ``stmt`` for one keyset page: a whitelisted sort field, then id; one query.
    Through a session: ORM objects (``scalars``) or rows of entities; through a statement
    runner (``kerops.core.reads``): each row's columns as a dict by name."""
    sort = params.sort or default_sort
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in sort_fields:
        raise Unprocessable(
            gettext(
                "Cannot sort by '{name}'. Allowed: {allowed}.",
                name=name,
                allowed=", ".join(sorted(sort_fields)),
            ),
            errors=[
                field_error(
                    ("query", "sort"),
                    gettext("unknown sort field '{name}'", name=name),
                    "sort_invalid",
                )
            ],
        )
    column = sort_fields[name]
    same_as_id = column is id_column
    keyset: dict[str, Any] = {}
    if params.cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(params.cursor.encode() + b"=="))
            if raw.get("s") != sort:
                raise _bad_cursor()
            last_id = uuid.UUID(raw["i"])
            last_value = _decode(column, raw.get("v")) if not same_as_id else last_id
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise _bad_cursor() from exc
        stmt = stmt.where(_after(column, id_column, descending))
        keyset = {"keyset_id": last_id, "keyset_value": last_value}
    order = [column.desc() if descending else column.asc()]
    if not same_as_id:
        order.append(id_column.desc() if descending else id_column.asc())
    stmt = stmt.order_by(*order).limit(params.limit + 1)
    through_session = isinstance(session, AsyncSession)
    if isinstance(session, AsyncSession):
        result = await session.execute(stmt, keyset)
        rows: list[Any] = list(result.scalars().all() if scalars else result.all())
    else:
        rows = list(await session.all(stmt, keyset))
        scalars = True  # a row of columns answers by attribute, as an object does
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        obj = last if scalars else last[0]
        payload = {
            "s": sort,
            "i": str(obj.id),
            "v": None if same_as_id else _encode(getattr(obj, column.key)),
        }
        next_cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    if not through_session:
        rows = [row._asdict() for row in rows]
    return rows, next_cursor
