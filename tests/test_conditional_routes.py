"""Every route on one object, walked from the OpenAPI document: a single-object GET sends an
``ETag`` (and answers 304 to it), a write on one object documents ``If-Match`` and honours it (a
stale tag is 412 with the current one, which then succeeds). Routes are aimed as in the query
budgets test (their isolation cases, as A's owner or platform staff). And every route refuses a
query parameter it does not declare (422 naming it), before anything else, signed in or not."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.test_isolation import PUBLIC
from tests.test_query_budgets import (
    OPENAPI,
    ROUTES,
    Route,
    _actor,
    _budget,
    _build,
    _case,
    _label,
    _stage,
    read_world,
    settings_overrides,
    shared,
)

__all__ = ["read_world", "settings_overrides", "shared"]

GET_PATHS = {path for method, path in ROUTES if method == "GET"}


def _operation(route: Route) -> dict[str, object]:
    operation: dict[str, object] = OPENAPI["paths"][route[1]][route[0].lower()]
    return operation


def _object_schema(route: Route) -> dict[str, object]:
    content = _operation(route)["responses"]  # type: ignore[index]
    ok = content.get("200", {}).get("content", {}).get("application/json", {})  # type: ignore[union-attr]
    ref = ok.get("schema", {}).get("$ref", "")
    schema: dict[str, object] = OPENAPI["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return schema


def _is_object_read(route: Route) -> bool:
    method, path = route
    if method != "GET" or not path.endswith("}") or route in PUBLIC:
        return False
    properties = _object_schema(route).get("properties", {})
    return "id" in properties or "key" in properties  # type: ignore[operator]


def _is_object_write(route: Route) -> bool:
    method, path = route
    if "{" not in path or route in PUBLIC:
        return False
    if method in {"PATCH", "PUT", "DELETE"}:
        return True
    return method == "POST" and not path.endswith("}") and path not in GET_PATHS


OBJECT_READS = [route for route in ROUTES if _is_object_read(route)]
OBJECT_WRITES = [route for route in ROUTES if _is_object_write(route)]


def test_the_walk_finds_the_object_routes() -> None:
    assert ("GET", "/api/v1/tickets/{ticket_id}") in OBJECT_READS
    assert ("POST", "/api/v1/tickets/{ticket_id}/transitions") in OBJECT_WRITES
    assert ("POST", "/api/v1/tickets/{ticket_id}/comments") not in OBJECT_WRITES
    assert len(OBJECT_READS) >= 20 and len(OBJECT_WRITES) >= 50


@pytest.mark.parametrize("route", OBJECT_WRITES, ids=_label)
def test_a_write_on_one_object_documents_if_match(route: Route) -> None:
    parameters = _operation(route).get("parameters", [])
    headers = {p["name"] for p in parameters if p["in"] == "header"}  # type: ignore[attr-defined, index]
    assert "If-Match" in headers, f"{_label(route)} does not document If-Match"
    assert "412" in _operation(route)["responses"]  # type: ignore[operator]


@pytest.mark.parametrize("route", OBJECT_READS, ids=_label)
def test_a_single_object_get_sends_an_etag(route: Route, request: pytest.FixtureRequest) -> None:
    case = _case(route)
    assert case is not None, f"{_label(route)} has no isolation case"
    stage = _stage(route, request)
    call = _build(stage, route, case, _actor(stage, route))
    response = stage.client.request(call.method, call.url, **call.kwargs)
    assert response.status_code == 200, response.text
    tag = response.headers.get("ETag")
    assert tag and tag.startswith('"'), f"{_label(route)} sends no strong ETag"
    headers = {**call.kwargs["headers"], "If-None-Match": tag}
    again = stage.client.request(call.method, call.url, **{**call.kwargs, "headers": headers})
    assert again.status_code == 304 and again.headers["ETag"] == tag


@pytest.mark.parametrize("route", OBJECT_WRITES, ids=_label)
def test_a_write_on_one_object_honours_if_match(
    route: Route, request: pytest.FixtureRequest
) -> None:
    case = _case(route)
    assert case is not None, f"{_label(route)} has no isolation case"
    stage = _stage(route, request)
    call = _build(stage, route, case, _actor(stage, route))

    def send(if_match: str) -> object:
        headers = {**call.kwargs["headers"], "If-Match": if_match}
        return stage.client.request(call.method, call.url, **{**call.kwargs, "headers": headers})

    stale = send('"0"')
    assert stale.status_code == 412, f"{_label(route)}: {stale.status_code} {stale.text[:300]}"  # type: ignore[attr-defined]
    assert stale.json()["code"] == "precondition_failed"  # type: ignore[attr-defined]
    current = stale.headers["ETag"]  # type: ignore[attr-defined]
    with stage.recorder as recorded:
        done = send(current)
    # The version is compared with the row the write loads: no statement more than its budget.
    assert len(recorded.statements) <= _budget(route), recorded.statements
    assert done.is_success, f"{_label(route)}: {done.status_code} {done.text[:300]}"  # type: ignore[attr-defined]


SSO_CALLBACK: Route = ("GET", "/api/v1/auth/sso/{slug}/callback")


def _any_path(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0190a0a0-0000-7000-8000-000000000000", path)


@pytest.mark.parametrize("route", ROUTES, ids=_label)
def test_every_route_refuses_an_unknown_query_parameter(route: Route, client: TestClient) -> None:
    response = client.request(
        route[0], _any_path(route[1]), params={"limit": "5", "zz_unknown": "1"}
    )
    if route in (SSO_CALLBACK, ("GET", "/")):  # the identity provider, or a link, writes these
        assert response.status_code != 422
        return
    assert response.status_code == 422, f"{_label(route)}: {response.status_code}"
    problem = response.json()
    unknown = [e["loc"] for e in problem["errors"] if e["type"] == "unknown_parameter"]
    declared = {
        p["name"]  # type: ignore[index]
        for p in _operation(route).get("parameters", [])  # type: ignore[attr-defined]
        if p["in"] == "query"  # type: ignore[index]
    }
    expected = [["query", "zz_unknown"]] + ([] if "limit" in declared else [["query", "limit"]])
    assert sorted(unknown) == sorted(expected), problem
