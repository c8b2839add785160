"""The API's routes mounted flat, and middleware applied under a path prefix."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.routing import Route

from kerops.api import routers
from kerops.core.routing import API_PREFIX, OnlyUnder, mount_flat


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
