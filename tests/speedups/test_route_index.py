"""Speed-up ``route_index``: Starlette's router still enters through ``middleware_stack`` and
its loop still hands a matched route the scope the index gives it; the index finds, for every
route of the app, the route Starlette's loop would find."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, Router
from starlette.types import Receive, Scope, Send

from kerops.core.routing import API_PREFIX, mount_flat
from kerops.speedups.route_index import RouteIndex
from kerops.speedups.route_index import install as install_route_index
from tests.speedups.conftest import shape


def test_a_router_enters_through_its_middleware_stack() -> None:
    # Fails when a Starlette release stops calling ``Router.middleware_stack`` (or builds it
    # differently): the index would then be skipped, or skip the router's own middleware.
    router = Router(routes=[])
    assert router.middleware_stack == router.app
    assert shape(Router.app) == [
        ("self", "POSITIONAL_OR_KEYWORD"),
        ("scope", "POSITIONAL_OR_KEYWORD"),
        ("receive", "POSITIONAL_OR_KEYWORD"),
        ("send", "POSITIONAL_OR_KEYWORD"),
    ]
    entered: list[str] = []

    async def entry(scope: Scope, receive: Receive, send: Send) -> None:
        entered.append(scope["path"])
        await router.app(scope, receive, send)

    router.middleware_stack = entry
    app = FastAPI()
    app.router = router  # type: ignore[assignment]
    assert TestClient(app).get("/nowhere").status_code == 404
    assert entered == ["/nowhere"]


def test_a_matched_route_gets_the_scope_starlettes_loop_gives_it() -> None:
    seen: dict[str, Any] = {}

    async def endpoint(request: Request) -> Response:
        seen.update(request.scope)
        return Response(status_code=204)

    for indexed in (False, True):
        seen.clear()
        router = Router(routes=[Route("/things/{thing_id}", endpoint)])
        if indexed:
            router.middleware_stack = RouteIndex(router)  # type: ignore[arg-type]
        app = FastAPI()
        app.router = router  # type: ignore[assignment]
        assert TestClient(app).get("/things/7").status_code == 204
        assert seen["router"] is router
        assert seen["path_params"] == {"thing_id": "7"}
        assert seen["endpoint"] is endpoint


def _sample_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)


def _first_full_match(app: FastAPI, scope: dict[str, object]) -> object:
    """The route the router's own loop picks (the first full match, in order)."""
    for route in app.router.routes:
        match, _ = route.matches(dict(scope))
        if match is Match.FULL:
            return route
    return None


def test_the_index_picks_the_routers_route_for_every_api_operation(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    checked = 0
    for route in app.router.routes:
        if not isinstance(route, APIRoute):
            continue
        path = _sample_path(route.path)
        for method in route.methods:
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            expected = _first_full_match(app, scope)
            assert expected is not None
            found = next(
                (r for r in index.candidates(path) if r.matches(dict(scope))[0] is Match.FULL),
                None,
            )
            assert found is expected, f"{method} {route.path}"
            checked += 1
    assert checked > 150


def test_what_the_index_does_not_settle_goes_through_the_router(client: TestClient) -> None:
    # Wrong method: 405 in the problem shape, with Allow.
    wrong = client.delete("/api/v1/auth/me")
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405
    # No such route under an indexed prefix, and none at all: 404 problems.
    for path in ("/api/v1/tickets/not/a/route", "/nowhere"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert missing.json()["code"]
    # A bad id under a matching template is the route's own 422, not a routing failure.
    bad = client.get("/api/v1/tickets/not-a-uuid")
    assert bad.status_code in (401, 422)


def test_routes_added_later_are_indexed() -> None:
    app = FastAPI()
    mount_flat(app, "/api/v1", [])
    index = install_route_index(app)

    async def first() -> dict[str, str]:
        return {"route": "first"}

    async def later() -> dict[str, str]:
        return {"route": "later"}

    app.router.add_api_route("/api/v1/things", first)
    with TestClient(app) as client:
        assert client.get("/api/v1/things").json() == {"route": "first"}
        app.router.add_api_route("/api/v1/things/{thing_id}", later)
        assert client.get("/api/v1/things/7").json() == {"route": "later"}
        assert len(index.candidates("/api/v1/things/7")) == 2


SOME_ID = "0190b9a0-0000-7000-8000-000000000001"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", f"{API_PREFIX}/locales", "GET, POST"),
        ("PUT", f"{API_PREFIX}/health", "GET"),
        ("POST", f"{API_PREFIX}/tickets/{SOME_ID}", "GET, PATCH"),
        ("PUT", f"{API_PREFIX}/locales/{SOME_ID}", "DELETE, GET, PATCH"),
    ],
)
def test_a_405_allows_the_methods_of_every_route_of_its_path(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "method_not_allowed"
