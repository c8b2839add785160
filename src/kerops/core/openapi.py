"""The OpenAPI document: operation ids that read as names, tags with descriptions, and for each
operation the errors it can return, as RFC 9457 problem details.

The errors of an operation are derived from what its route depends on (``error_statuses``):

| status | when |
| --- | --- |
| 400 | a body that cannot be parsed; a POST refusing ``Idempotency-Key`` that was sent one |
| 401 | the route reads the caller's credentials (a bad one is refused even where optional) |
| 403 | the caller is signed in: an API key without the request's scope, a role or plan limit |
| 404 | the route names an object: a path parameter, or a request body (ids of other objects) |
| 409 | a signed-in write: the state refuses it (a duplicate, an object in use), or its key runs |
| 413 | the route takes a body (the body limit, or its own) |
| 415 | the route takes an upload (the file's type is sniffed) |
| 422 | the route takes any input (a parameter, a header, a body) |

and an endpoint adds what its own code answers with ``@answers(...)`` (a rate limit's 429, a
public sign-in's 401); statuses a route declares in ``responses`` are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from kerops.core import conditional, deps
from kerops.core.errors import PROBLEM_MEDIA_TYPE
from kerops.core.storage.uploads import UploadRoute

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; validation errors list the offending fields.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable error code"},
        "instance": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden (role, API key scope or plan limit)",
    404: "Not found, or outside the caller's reach",
    409: "Conflict with the current state",
    410: "Gone: no longer kept (an expired sync cursor: sync fully again)",
    412: "Precondition failed: If-Match names a stale version (the current ETag is sent)",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests (see Retry-After)",
    502: "An upstream service failed",
    503: "Service unavailable (see Retry-After)",
}

F = TypeVar("F", bound=Callable[..., Any])
_ANSWERS: dict[Callable[..., Any], frozenset[int]] = {}
_CREDENTIALS = frozenset(
    {deps.get_principal, deps.get_optional_principal, deps.get_reader, deps.check_credentials}
)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def answers(*statuses: int) -> Callable[[F], F]:
    """Mark an endpoint as answering ``statuses`` besides the errors its route's dependencies
    give it (a rate limit's 429, the 401 of a public sign-in that checks a password)."""
    unknown = set(statuses) - set(DESCRIPTIONS)
    if unknown:
        raise ValueError(f"no description for statuses {sorted(unknown)}")

    def mark(endpoint: F) -> F:
        _ANSWERS[endpoint] = _ANSWERS.get(endpoint, frozenset()) | frozenset(statuses)
        return endpoint

    return mark


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _has_body(route: APIRoute) -> bool:
    extra = route.openapi_extra or {}
    return route.body_field is not None or "requestBody" in extra


def error_statuses(route: APIRoute) -> set[int]:
    """The error statuses ``route`` can answer (see the module's table)."""
    methods = set(route.methods or ())
    calls = set(_calls(route.dependant))
    signed_in = bool(calls & _CREDENTIALS) or isinstance(route, deps.AuthenticatedUploadRoute)
    body = _has_body(route)
    statuses: set[int] = set()
    if signed_in:
        statuses |= {401, 403}
        if methods & _WRITES:
            statuses.add(409)
    if route.dependant.path_params or (body and signed_in):
        statuses.add(404)
    if body:
        statuses |= {400, 413}
    if body and isinstance(route, UploadRoute):
        statuses.add(415)
    # Every route refuses query parameters it does not declare (``kerops.core.conditional``),
    # but one whose query someone else writes.
    if not conditional.takes_any(route) or _has_input(route.dependant) or body:
        statuses.add(422)
    # The Idempotency-Key of POSTs (kerops.idempotency.http): a route class that takes keys
    # (``replayable``) may answer 409 (a key still running) and 422 (a key reused or malformed);
    # one that refuses them answers 400 to a request that sends one.
    replayable = getattr(type(route), "replayable", None)
    if replayable is True:
        statuses |= {409, 422}
    elif replayable is False:
        statuses.add(400)
    statuses |= _ANSWERS.get(route.endpoint, frozenset())
    statuses |= {int(code) for code in route.responses if str(code).isdigit() and int(code) >= 400}
    if 412 in statuses:  # an If-Match that is not a list of entity tags
        statuses.add(400)
    return statuses


def _has_input(dependant: Dependant) -> bool:
    if dependant.path_params or dependant.query_params or dependant.header_params:
        return True
    if dependant.cookie_params or dependant.body_params:
        return True
    return any(_has_input(sub) for sub in dependant.dependencies)


def camel_case(name: str) -> str:
    """``list_tickets`` -> ``listTickets``."""
    head, *rest = [part for part in re.split(r"[_\W]+", name) if part]
    return head[:1].lower() + head[1:] + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_ids(names: Mapping[str, str]) -> Callable[[APIRoute], str]:
    """FastAPI's ``generate_unique_id_function``: an operation's id is its endpoint's name in
    camelCase (``list_tickets`` -> ``listTickets``), or the one ``names`` gives that endpoint
    name where the function's own name says too little (``me`` -> ``getCurrentUser``)."""

    def operation_id(route: APIRoute) -> str:
        return names.get(route.name) or camel_case(route.name)

    return operation_id


#: Words an operation's summary writes as people do.
_ACRONYMS = {
    "api": "API",
    "bom": "BOM",
    "iot": "IoT",
    "otp": "OTP",
    "qr": "QR",
    "sla": "SLA",
    "sso": "SSO",
}


def summary_of(operation_id: str) -> str:
    """An operation's summary read from its id: ``listIotDevices`` -> ``List IoT devices``."""
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", operation_id)]
    words = [_ACRONYMS.get(w, w) for w in words]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _operations(document: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            yield path, method, operation


def install_openapi(app: FastAPI) -> None:
    """Replace the app's OpenAPI generator with one that documents each operation's errors as
    problem responses and refuses two operations with one id."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        routes = {
            (method.lower(), route.path_format): route
            for route in app.routes
            if isinstance(route, APIRoute) and route.include_in_schema
            for method in route.methods or ()
        }
        seen: dict[str, str] = {}
        for path, method, operation in _operations(document):
            operation_id = operation.get("operationId", "")
            if operation_id in seen:
                raise ValueError(f"{method} {path} and {seen[operation_id]} share {operation_id}")
            seen[operation_id] = f"{method} {path}"
            route = routes[method, path]
            if route.summary is None and operation_id:
                operation["summary"] = summary_of(operation_id)
            statuses = error_statuses(route)
            # What the route declares itself keeps its shape (``/ready``'s 503 is a Readiness).
            declared = {int(code) for code in route.responses if str(code).isdigit()}
            responses = operation.setdefault("responses", {})
            for code in [c for c in responses if c.isdigit() and int(c) >= 400]:
                if int(code) not in statuses:
                    del responses[code]
            for status in sorted(statuses):
                entry = responses.get(str(status), {})
                if status in declared and entry.get("content"):
                    continue
                description = entry.get("description") if status in declared else None
                responses[str(status)] = {
                    "description": description or DESCRIPTIONS[status],
                    "content": problem,
                }
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
