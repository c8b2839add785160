"""The API's routes, added to the app flat, and middleware applied under a path prefix.

FastAPI resolves an included router lazily: every request walks the included routers, their
routes and their inclusion contexts. So the modules' routes are added to the app's own router
one by one (``mount_flat``; the OpenAPI document is the same). Requests are then found by their
leading path segments by the ``route_index`` speed-up (``kerops.speedups.route_index``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, params
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

#: The path every API route lies under (modules that build their own URLs read it here).
API_PREFIX = "/api/v1"


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
