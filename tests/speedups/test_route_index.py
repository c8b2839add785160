"""Speed-up ``route_index``: Starlette's router still enters through ``middleware_stack`` and
its loop still hands a matched route the scope the index gives it; the index finds, for every
route of the app, the route Starlette's loop would find."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, Router
from starlette.types import Receive, Scope, Send

from kerops.speedups.route_index import RouteIndex
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


def _example(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def test_every_route_is_found_as_starlettes_loop_finds_it(client: TestClient) -> None:
    router = client.app.router  # type: ignore[attr-defined]
    index = router.middleware_stack
    assert isinstance(index, RouteIndex)
    checked = 0
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods):
            scope = {"type": "http", "path": _example(route.path), "method": method}
            scope["root_path"] = ""

            def first_full(routes: Any, scope: dict[str, Any] = scope) -> Any:
                return next(r for r in routes if r.matches(scope)[0] is Match.FULL)

            assert first_full(index.candidates(scope["path"])) is first_full(router.routes)
            checked += 1
    assert checked > 150
