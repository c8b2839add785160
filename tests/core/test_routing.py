"""The API's routes mounted flat and found through the route index."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Match, Route

from kerops.api import routers
from kerops.core.routing import OnlyUnder, mount_flat
from kerops.main import API_PREFIX
from kerops.speedups.route_index import RouteIndex
from kerops.speedups.route_index import install as install_route_index


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


def test_the_flat_mount_documents_the_same_api_as_included_routers(client: TestClient) -> None:
    included = FastAPI()
    nested = APIRouter(prefix=API_PREFIX)
    for router in routers():
        nested.include_router(router)
    included.include_router(nested)
    flat = FastAPI()
    mount_flat(flat, API_PREFIX, routers())
    assert flat.openapi()["paths"] == included.openapi()["paths"]
    assert list(flat.openapi()["paths"]) == list(included.openapi()["paths"])


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


def test_only_api_routes_are_mounted_flat() -> None:
    router = APIRouter()
    router.routes.append(Route("/plain", lambda request: None))
    with pytest.raises(TypeError, match="only API routes"):
        mount_flat(FastAPI(), "/api/v1", [router])


def test_a_middleware_only_under_a_prefix_is_skipped_elsewhere() -> None:
    seen: list[tuple[str, bool]] = []

    class Marks:
        def __init__(self, app: Any, *, label: str) -> None:
            self.app, self.label = app, label

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            scope["marked"] = self.label
            await self.app(scope, receive, send)

    app = FastAPI()

    @app.get("/api/v1/auth/sso/{slug}/login")
    @app.get("/api/v1/tickets")
    async def where(request: Request) -> dict[str, str]:
        seen.append((request.url.path, "marked" in request.scope))
        return {}

    app.add_middleware(
        OnlyUnder, prefix="/api/v1/auth/sso/", middleware=Marks, options={"label": "sso"}
    )
    with TestClient(app) as client:  # the lifespan passes through too
        client.get("/api/v1/auth/sso/acme/login")
        client.get("/api/v1/tickets")
    assert seen == [("/api/v1/auth/sso/acme/login", True), ("/api/v1/tickets", False)]


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
