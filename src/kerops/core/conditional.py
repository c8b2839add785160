"""What the app checks on every route as it mounts it: the query parameters a request may send,
and the versions of the object a route reads or changes (``ETag``, ``If-Match``,
``If-None-Match``).

- **Query parameters**: a request naming a query parameter its route does not declare is a 422
  ``validation_error`` with one error per unknown parameter (``["query", name]``,
  ``unknown_parameter``), before the route runs. An endpoint whose query someone else writes
  (an identity provider's redirect back) is marked ``@takes_any_query``.
- **An object's version**: a route on one object names it by its last path parameter
  (``/tickets/{ticket_id}``, ``/locales/{locale_id}/areas/{area_id}``). Its ``ETag`` is a strong
  validator derived from the object's identity and its ``updated_at`` (``created_at`` for rows
  that never change). A single-object GET sends it (and answers 304 to an ``If-None-Match``
  naming it); so does every write on one object whose answer is the object.
- **If-Match**: a PATCH, PUT or DELETE of an object, and a POST of an action on one
  (``/tickets/{id}/transitions``, ``/users/{id}/deactivate``: a POST to a path that has no list
  GET), takes ``If-Match``. The version is compared with the row the write loads anyway, in
  the request's session: as it is loaded (before any rule of the write is judged), else as it is
  flushed, else as the request commits; no statement is added. A stale tag is a 412
  ``precondition_failed`` with the current ``ETag``; ``*`` matches any existing object; a
  malformed header is a 400 ``invalid_if_match``. A route whose write never loads the object
  answers 412 to any ``If-Match`` (the all-routes test finds none).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, TypeVar, cast

from fastapi import Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from kerops.core.errors import AppError, Unprocessable, field_error
from kerops.core.i18n import N_, gettext

#: Where the request's precondition is kept: on ``request.state`` and on its session's ``info``.
PRECONDITION_KEY = "kerops_if_match"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
_OBJECT_WRITES = frozenset({"PATCH", "PUT", "DELETE"})
#: The columns (and fields) an object's version is read from, the first one it has.
VERSION_FIELDS = ("updated_at", "created_at", "occurred_at")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
#: The dependencies and route class of a route as the app mounts it (``core.routing``).
Adapter = Callable[[APIRoute], tuple[list[DependsParam], type[APIRoute]]]


class PreconditionFailed(AppError):
    """The object changed since the version the request names (``If-Match``)."""

    status_code = 412
    code = "precondition_failed"
    title = N_("Precondition failed")


# --- versions ---------------------------------------------------------------------------------


def _identity(value: Any) -> str:
    """One spelling of an object's identity (a UUID in any of its forms is the same object)."""
    if isinstance(value, uuid.UUID):
        return value.hex
    text = str(value)
    try:
        return uuid.UUID(text).hex
    except ValueError:
        return text


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _as_datetime(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def etag(identity: Any, version: Any) -> str:
    """The strong ``ETag`` of the object ``identity`` at ``version`` (its ``updated_at``)."""
    at = _as_datetime(version)
    micros = (at - _EPOCH) // _MICROSECOND if at is not None else 0
    digest = hashlib.blake2b(f"{_identity(identity)}|{micros}".encode(), digest_size=12)
    return f'"{digest.hexdigest()}"'


def _row_version(obj: Any, *, original: bool) -> Any:
    """A row's ``updated_at`` (else ``created_at``); with ``original``, as it was loaded."""
    state = inspect(obj)
    for name in VERSION_FIELDS:
        if name in state.mapper.attrs:
            if original:
                history = state.attrs[name].history
                if history.deleted:
                    return history.deleted[0]
            return getattr(obj, name)
    return None


def parse_tags(value: str) -> list[tuple[bool, str]] | None:
    """The entity tags of an ``If-Match``/``If-None-Match`` value (``(weak, opaque)`` each), an
    empty list for ``*``, ``None`` when it is malformed."""
    if value.strip() == "*":
        return []
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(value):
        found = _ENTITY_TAG.match(value, position)
        if found is None or found.end() == position:
            return None
        tags.append((found.group(1) is not None, f'"{found.group(2)}"'))
        position = found.end()
    return tags or None


@dataclass
class Precondition:
    """An ``If-Match`` of a write on one object: the object (named by the path parameter
    ``param``: its id, or its column of that name) and the tags the request names."""

    identity: str
    param: str
    tags: list[tuple[bool, str]]
    checked: bool = False
    current: str | None = field(default=None)

    def check(self, obj: Any, *, original: bool) -> None:
        """412 unless the row's version (as loaded) is one the request names."""
        self.checked = True
        key = inspect(obj).identity
        self.current = etag(key[0] if key else self.identity, _row_version(obj, original=original))
        if not self.tags:  # "*": the object exists
            return
        if any(not weak and tag == self.current for weak, tag in self.tags):
            return
        raise PreconditionFailed(
            gettext(
                "The object changed since the version named in If-Match; read it again "
                "(its current ETag is in the ETag header) and retry."
            ),
            headers={"ETag": self.current},
        )

    def find(self, objects: Iterable[Any]) -> Any | None:
        """The object named by the request among ``objects`` (rows of a session)."""
        for obj in objects:
            state = inspect(obj)
            key = state.identity
            if key and len(key) == 1 and _identity(key[0]) == self.identity:
                return obj
            if self.param in state.mapper.column_attrs:
                value = getattr(obj, self.param)
                if value is not None and _identity(value) == self.identity:
                    return obj
        return None


def _precondition(session: Session) -> Precondition | None:
    found = session.info.get(PRECONDITION_KEY)
    return found if isinstance(found, Precondition) and not found.checked else None


@event.listens_for(Session, "loaded_as_persistent")
def _check_as_loaded(session: Session, obj: Any) -> None:
    if (precondition := _precondition(session)) is not None and precondition.find([obj]):
        precondition.check(obj, original=True)


@event.listens_for(Session, "before_flush")
def _check_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if (precondition := _precondition(session)) is None:
        return
    obj = precondition.find([*session.dirty, *session.deleted])
    if obj is not None:
        precondition.check(obj, original=True)


@event.listens_for(Session, "before_commit")
def _check_before_commit(session: Session) -> None:
    if (precondition := _precondition(session)) is None:
        return
    obj = precondition.find(session.identity_map.values())
    if obj is None:
        raise PreconditionFailed(
            gettext("If-Match names a version of an object this request did not find."),
        )
    precondition.check(obj, original=True)


def bind_precondition(request: Request, session: Session) -> None:
    """Give the request session the request's ``If-Match`` (``core.deps.get_session``)."""
    found = getattr(request.state, PRECONDITION_KEY, None)
    if found is not None:
        session.info[PRECONDITION_KEY] = found


def release_precondition(session: Session) -> None:
    """Drop the request's ``If-Match`` from its session: a replayed answer (``Idempotency-Key``)
    shows what the request was answered when it ran, whatever the object's version is now."""
    session.info.pop(PRECONDITION_KEY, None)


# --- routes -----------------------------------------------------------------------------------


async def if_match_header(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description=(
                "The object's `ETag` as last read: the write is refused (412, with the current "
                "`ETag`) when the object changed since. `*` matches any existing object."
            ),
        ),
    ] = None,
) -> None:
    """Documents ``If-Match`` (read by the route class, before the route runs)."""


async def if_none_match_header(
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            description="The object's `ETag` as last read: 304 without a body if it is current.",
        ),
    ] = None,
) -> None:
    """Documents ``If-None-Match`` (answered by the route class)."""


#: Endpoints that take whatever query a third party sends them (an OIDC provider's redirect).
_ANY_QUERY: set[Callable[..., Any]] = set()

F = TypeVar("F", bound=Callable[..., Any])


_ONE_OBJECT: set[Callable[..., Any]] = set()


def one_object(endpoint: F) -> F:
    """Mark a GET whose path names no object but whose answer is one (``/auth/me``, the
    caller's own user): it sends the object's ``ETag`` and answers 304 to ``If-None-Match``."""
    _ONE_OBJECT.add(endpoint)
    return endpoint


def takes_any_query(endpoint: F) -> F:
    """Mark an endpoint whose query is written by someone else (an identity provider's redirect
    back: ``code``, ``state``, ``scope``, ``session_state``, ...): unknown parameters are not
    refused there. Put it below the route decorator."""
    _ANY_QUERY.add(endpoint)
    return endpoint


def takes_any(route: APIRoute) -> bool:
    """Whether ``route``'s endpoint takes any query (``takes_any_query``)."""
    return route.endpoint in _ANY_QUERY


def declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares (a model of query parameters: its fields)."""
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        pending.extend(dependant.dependencies)
        for param in dependant.query_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                names.update(f.alias or n for n, f in annotation.model_fields.items())
            else:
                names.add(param.alias)
    return frozenset(names)


def _body_tag(response: Response, identity: str | None, param: str) -> str | None:
    """The ``ETag`` of an answer that is the object the path names (a JSON object whose ``id``,
    or whose field named after the path parameter ``param``, is ``identity``; any object's,
    for a route marked ``one_object``: ``identity`` None)."""
    body = getattr(response, "body", None)
    if not isinstance(body, bytes) or not body.startswith(b"{"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if identity is None:
        identity = _identity(data.get("id", ""))
    named = data.get(param)
    is_other = "id" in data and _identity(data["id"]) != identity
    if is_other and (named is None or _identity(named) != identity):
        return None
    version = next((data[name] for name in VERSION_FIELDS if name in data), None)
    if version is None:
        return None
    return etag(data.get("id", identity), version)


class CheckedRoute(APIRoute):
    """Mixed into every route's class: unknown query parameters, ETags and preconditions."""

    #: ``read`` (a single-object GET), ``write`` (a write on one object) or ``""``.
    object_kind: ClassVar[str] = ""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        allowed = declared_query(self)
        any_query = self.endpoint in _ANY_QUERY
        target = self.param_convertors and list(self.param_convertors)[-1]
        one = self.endpoint in _ONE_OBJECT
        kind = self.object_kind if target or one else ""

        async def checked(request: Request) -> Response:
            unknown = [name for name in dict.fromkeys(request.query_params) if name not in allowed]
            if unknown and not any_query:
                raise Unprocessable(
                    gettext("Unknown query parameter: {names}.", names=", ".join(unknown)),
                    errors=[
                        field_error(
                            ("query", name), gettext("unknown query parameter"), "unknown_parameter"
                        )
                        for name in unknown
                    ],
                )
            if not kind:
                return await handler(request)
            param = target or "id"
            identity = _identity(request.path_params.get(param, "")) if target else None
            if (
                kind == "write"
                and identity is not None
                and (header := request.headers.get("if-match")) is not None
            ):
                tags = parse_tags(header)
                if tags is None:
                    raise AppError(
                        gettext("If-Match is not a list of entity tags (or `*`)."),
                        code="invalid_if_match",
                    )
                setattr(request.state, PRECONDITION_KEY, Precondition(identity, param, tags))
            response = await handler(request)
            if 200 <= response.status_code < 300 and (tag := _body_tag(response, identity, param)):
                response.headers["ETag"] = tag
                if kind == "read" and _none_match(request, tag):
                    return Response(status_code=304, headers={"ETag": tag})
            return response

        return checked


def _none_match(request: Request, tag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = parse_tags(header)
    if tags is None:
        return False
    return not tags or any(opaque == tag for _weak, opaque in tags)


_route_classes: dict[tuple[type[APIRoute], str], type[APIRoute]] = {}


def _route_class(base: type[APIRoute], kind: str) -> type[APIRoute]:
    found = _route_classes.get((base, kind))
    if found is None:
        name = f"Checked{kind.title()}{base.__name__}"
        found = cast(type[APIRoute], type(name, (CheckedRoute, base), {"object_kind": kind}))
        _route_classes[base, kind] = found
    return found


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def object_kind(
    route: APIRoute, get_paths: frozenset[str], signed_in: frozenset[Callable[..., Any]]
) -> str:
    """``read`` for a GET of one object, ``write`` for a write on one object, else ``""``
    (routes whose caller is signed in: one of ``signed_in`` is among their dependencies)."""
    methods = route.methods or set()
    if route.endpoint in _ONE_OBJECT and "GET" in methods:
        return "read"
    if "{" not in route.path or not signed_in & set(_calls(route.dependant)):
        return ""
    if "GET" in methods:
        last = route.path.rsplit("/", 1)[-1]
        model = route.response_model
        is_object = isinstance(model, type) and issubclass(model, BaseModel)
        fields = model.model_fields if is_object else {}
        versioned = any(name in fields for name in VERSION_FIELDS)
        return "read" if last.startswith("{") and versioned and "items" not in fields else ""
    if methods & _OBJECT_WRITES:
        return "write"
    if "POST" in methods and not route.path.endswith("}") and route.path not in get_paths:
        return "write"
    return ""


def adapter(
    routes: Iterable[APIRoute], base: Adapter, signed_in: Iterable[Callable[..., Any]]
) -> Adapter:
    """``base`` (e.g. the idempotency keys' adapter) with this module's checks on every route;
    ``signed_in`` are the dependencies of a signed-in caller (``core.deps.get_principal``,
    ``get_reader``)."""
    callers = frozenset(signed_in)
    get_paths = frozenset(r.path for r in routes if "GET" in (r.methods or ()))

    def adapt(route: APIRoute) -> tuple[list[DependsParam], type[APIRoute]]:
        dependencies, route_class = base(route)
        kind = object_kind(route, get_paths, callers)
        if kind == "write":
            dependencies = [*dependencies, Depends(if_match_header)]
            route.responses = {
                **route.responses,
                412: {"description": "If-Match names a stale version (current ETag sent)"},
            }
        elif kind == "read":
            dependencies = [*dependencies, Depends(if_none_match_header)]
            route.responses = {**route.responses, 304: {"description": "Not modified"}}
        return dependencies, _route_class(route_class, kind)

    return adapt
