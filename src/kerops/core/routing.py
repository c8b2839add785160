"""The API's routes: added to the app flat, and found by their leading path segments.

FastAPI resolves an included router lazily: every request walks the included routers, their
routes and their inclusion contexts (~270 µs to reach ``GET /api/v1/tickets/{id}`` among ~165
routes, more than the raw driver needs for the whole request). So the modules' routes are added
to the app's own router one by one (``mount_flat``; the OpenAPI document is the same), and a
request is matched only against the routes that share its first path segments (``RouteIndex``,
a few µs). A path that exists only with other methods is a 405 whose ``Allow`` lists the methods
of every route of that path. Everything else the index does not settle with a full match (slash
redirects, 404) goes through the router's own loop, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, FastAPI, params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

#: Leading path segments a request is indexed by (``api``, ``v1``, ``tickets``).
INDEX_DEPTH = 3


def _routes_of(router: APIRouter) -> Iterator[APIRoute]:
    for route in router.routes:
        if not isinstance(route, APIRoute):
            # Only plain API routes are copied; anything else would be silently lost.
            raise TypeError(f"cannot mount {route!r} flat: only API routes are supported")
        yield route


#: What the app adds to a module's route as it mounts it: its dependencies and route class
#: (e.g. ``kerops.idempotency.http.adapt_route``: the ``Idempotency-Key`` of POSTs).
RouteAdapter = Callable[[APIRoute], tuple[list[params.Depends], type[APIRoute]]]


def mount_flat(
    app: FastAPI, prefix: str, routers: Iterable[APIRouter], adapt: RouteAdapter | None = None
) -> None:
    """Add every route of ``routers`` to the app's own router under ``prefix``.

    The routes keep everything their routers gave them (paths with the routers' prefixes, tags,
    dependencies, response models, route classes), as ``include_router`` would; ``adapt`` may
    add dependencies and choose a route class derived from the route's own.
    """
    for router in routers:
        for route in _routes_of(router):
            dependencies, route_class = (
                adapt(route) if adapt else (list(route.dependencies), type(route))
            )
            app.router.add_api_route(
                prefix + route.path,
                route.endpoint,
                response_model=route.response_model,
                status_code=route.status_code,
                tags=route.tags,
                dependencies=dependencies,
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses=route.responses,
                deprecated=route.deprecated,
                methods=route.methods,
                operation_id=route.operation_id,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                include_in_schema=route.include_in_schema,
                response_class=route.response_class,
                name=route.name,
                route_class_override=route_class,
                callbacks=route.callbacks,
                openapi_extra=route.openapi_extra,
                generate_unique_id_function=route.generate_unique_id_function,
            )


def _key(path: str) -> tuple[str, ...]:
    return tuple(path.split("/", INDEX_DEPTH + 1)[1 : INDEX_DEPTH + 1])


def _pattern(route: BaseRoute) -> tuple[str | None, ...] | None:
    """The route's leading segments (None: a parameter); None: it may match any path."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/") or ":path}" in path:
        return None
    return tuple(None if "{" in part else part for part in _key(path))


def _could_match(pattern: tuple[str | None, ...] | None, key: tuple[str, ...]) -> bool:
    if pattern is None:
        return True
    if len(key) < len(pattern):
        return False
    return all(part is None or part == key[i] for i, part in enumerate(pattern))


class RouteIndex:
    """The app router's entry point: a full match among the request's candidate routes is
    handled directly; any other request takes the router's own loop (``fallback``)."""

    def __init__(self, router: APIRouter) -> None:
        if router.middleware_stack != router.app:
            # Router-level middleware would be skipped by the direct path.
            raise TypeError("the router has middleware of its own; it cannot be indexed")
        if getattr(router, "form_limits", None):
            # The router's loop applies its form limits to the scope; the direct path does not.
            raise TypeError("the router has form limits of its own; it cannot be indexed")
        self.router = router
        self.fallback: ASGIApp = router.middleware_stack
        self._shape: tuple[int, ...] = ()
        self._candidates = lru_cache(maxsize=4096)(self._find)

    def _refresh(self) -> None:
        shape = tuple(id(route) for route in self.router.routes)
        if shape != self._shape:  # routes added or removed since: index them again
            self._patterns = [(_pattern(route), route) for route in self.router.routes]
            self._candidates.cache_clear()
            self._shape = shape

    def _find(self, key: tuple[str, ...]) -> tuple[BaseRoute, ...]:
        return tuple(route for pattern, route in self._patterns if _could_match(pattern, key))

    def candidates(self, path: str) -> tuple[BaseRoute, ...]:
        """The routes that could match ``path``, in the router's order."""
        if len(self.router.routes) != len(self._shape):
            self._refresh()
        return self._candidates(_key(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "fastapi.telemetry" not in scope:
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]
            allowed: set[str] = set()
            for route in self.candidates(path):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self.router)
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
                if match is Match.PARTIAL:
                    allowed.update(getattr(route, "methods", None) or ())
            if allowed:
                # The path exists with other methods. Starlette's loop would answer the first
                # such route's methods only (GET of ``/locales`` without POST, or the reverse).
                raise StarletteHTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        await self.fallback(scope, receive, send)


def install_route_index(app: FastAPI) -> RouteIndex:
    """Put a ``RouteIndex`` in front of the app router's loop."""
    index = RouteIndex(app.router)
    index._refresh()
    app.router.middleware_stack = index
    return index


class OnlyUnder:
    """An ASGI middleware applied only to the requests whose path starts with ``prefix``; the
    others go straight to the app (e.g. the SSO flow's cookie session, which no other route
    reads: every other request skips its cookie parsing and its layer)."""

    def __init__(
        self,
        app: ASGIApp,
        prefix: str,
        middleware: Callable[..., ASGIApp],
        options: dict[str, Any] | None = None,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.wrapped = middleware(app, **(options or {}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" and scope["path"].startswith(self.prefix):
            await self.wrapped(scope, receive, send)
        else:
            await self.app(scope, receive, send)
