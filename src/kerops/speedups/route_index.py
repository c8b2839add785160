"""Speed-up ``route_index``: a request is matched only against the routes sharing its first
path segments, instead of Starlette's loop over every route of the app's router.

``install`` puts a ``RouteIndex`` in the router's ``middleware_stack`` (Starlette's entry point
of a ``Router``): a full match among the request's candidate routes is handled as Starlette's
loop would handle it (``scope["router"]``, the child scope, ``route.handle``); everything else
(slash redirects, 404) goes through the router's own loop, unchanged. A path that exists only
with other methods is a 405 whose ``Allow`` lists the methods of every route of that path.

It relies on Starlette internals: ``Router.middleware_stack`` being the router's entry point
(and ``Router.app`` when no router middleware is set), and on the keys its loop puts in the
scope. ``tests/speedups/test_route_index.py`` fails when a Starlette release changes them.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

#: Leading path segments a request is indexed by (``api``, ``v1``, ``tickets``).
INDEX_DEPTH = 3


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


def install(app: FastAPI) -> RouteIndex:
    """Put a ``RouteIndex`` in front of the app router's loop."""
    index = RouteIndex(app.router)
    index._refresh()
    app.router.middleware_stack = index
    return index
