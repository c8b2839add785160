"""The app factory: routers, middleware, error handlers and lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from kerops import __version__, modules, speedups
from kerops.api import OPENAPI_TAGS, OPERATION_NAMES
from kerops.config import Settings, get_settings
from kerops.core import conditional
from kerops.core.db import Database
from kerops.core.deps import get_principal, get_reader
from kerops.core.errors import install_error_handlers
from kerops.core.jobs import JobEngine
from kerops.core.logging import RequestContextMiddleware, configure_logging
from kerops.core.mail import create_sender
from kerops.core.middleware import (
    BodyLimitMiddleware,
    LanguageMiddleware,
    SecurityHeadersMiddleware,
)
from kerops.core.openapi import install_openapi, operation_ids
from kerops.core.ratelimit import RateLimiter
from kerops.core.routing import API_PREFIX, OnlyUnder, mount_flat
from kerops.core.security import Security
from kerops.core.state import AppState
from kerops.iot.mqtt import start_mqtt
from kerops.web import pages, scan_pages

# Every module's models, access rules, plan limits and jobs, plugged into core.
modules.install()

#: What a browser of an allowed origin may send and read (``KEROPS_CORS_ORIGINS``). No cookies:
#: the API takes bearer tokens and API keys.
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "X-Request-ID",
    "X-Device-Key",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
]
CORS_EXPOSED_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "Content-Disposition",
    "ETag",
    "Idempotent-Replayed",
]
_heap = {"frozen": False}


def freeze_startup_heap() -> bool:
    """Move what the process holds once started (modules, routes, schemas, mappers: ~350,000
    objects) out of the garbage collector's reach, once per process; whether this call did.

    A full (generation 2) collection walks every tracked object: ~130 ms of a stalled event loop
    with this heap, every few seconds under load (the p99 of a list page). Frozen objects are
    skipped, which leaves ~0.5 ms; they were alive anyway, and garbage is collected first."""
    if _heap["frozen"]:
        return False
    gc.collect()
    gc.freeze()
    _heap["frozen"] = True
    return True


class KerOpsAPI(FastAPI):
    """FastAPI with middleware of its own around the whole stack (``outer_middleware``).

    Starlette puts its ``ServerErrorMiddleware`` (the 500 answer of an unhandled error) outside
    every added middleware, so headers added by those never reach a 500. The outer middleware
    wrap it: the security headers, the request id and CORS reach every answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Outermost first.
        self.outer_middleware: list[Middleware] = []

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        for cls, args, kwargs in reversed(self.outer_middleware):
            stack = cls(stack, *args, **kwargs)
        return stack


def build_state(settings: Settings) -> AppState:
    """Create the shared services of one app instance (and apply the process-wide framework
    speed-ups its settings switch on)."""
    speedups.install(settings)
    return AppState(
        settings=settings,
        db=Database(settings),
        security=Security(settings),
        limiter=RateLimiter(settings.rate_limit_storage_url),
        sender=create_sender(settings),
        jobs=JobEngine(settings),
    )


def mount_api(app: FastAPI, settings: Settings) -> None:
    """Every module's routes under ``/api/v1``, flat, found through the route index (when its
    speed-up is on)."""
    from kerops.api import routers
    from kerops.idempotency.http import adapt_route

    modules_routers = routers()
    every_route = [route for router in modules_routers for route in router.routes]
    adapt = conditional.adapter(
        [r for r in every_route if isinstance(r, APIRoute)],
        adapt_route,
        (get_principal, get_reader),
    )
    mount_flat(app, API_PREFIX, modules_routers, adapt=adapt)
    speedups.install_route_index(app, settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI app for the given settings (defaults: from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current: AppState = app.state.kerops
        jobs = current.jobs
        await jobs.start(current, scheduler=jobs.in_process and current.settings.embedded_scheduler)
        # IoT readings over MQTT (KEROPS_MQTT_URL); with an external broker, workers run it.
        mqtt = await start_mqtt(current) if jobs.in_process else None
        freeze_startup_heap()
        try:
            yield
        finally:
            if mqtt is not None:
                await mqtt.stop()
            await app.state.kerops.jobs.stop()
        # The state the app holds now (tests give a reused app fresh services per test).
        await app.state.kerops.db.dispose()

    app = KerOpsAPI(
        title="KER Ops API",
        version=__version__,
        description=(
            "Multi-tenant facility-maintenance and field-service backend. "
            "Authenticate with **Authorize** (email + password) or an API key (`X-API-Key`)."
        ),
        lifespan=lifespan,
        # Swagger UI, ReDoc and the landing page are kerops.web's (served from the package).
        docs_url=None,
        redoc_url=None,
        openapi_tags=OPENAPI_TAGS,
        generate_unique_id_function=operation_ids(OPERATION_NAMES),
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
            "operation_spans": settings.opentelemetry,
        },
    )
    app.state.kerops = state
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(
        OnlyUnder,
        prefix=f"{API_PREFIX}/auth/sso/",
        middleware=SessionMiddleware,
        options={
            "secret_key": state.security.session_secret,
            "session_cookie": "kerops_sso",
            "max_age": 600,
            "same_site": "lax",
            "https_only": settings.environment == "production",
        },
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, router=app.router)
    app.outer_middleware = [
        Middleware(SecurityHeadersMiddleware, page_policies=pages.CSP_BY_PATH),
        Middleware(RequestContextMiddleware),
        Middleware(LanguageMiddleware),
    ]
    if settings.cors_origins:
        app.outer_middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=CORS_METHODS,
                allow_headers=CORS_HEADERS,
                expose_headers=CORS_EXPOSED_HEADERS,
                max_age=600,
            )
        )
    mount_flat(app, "", [pages.router, scan_pages.router])
    mount_api(app, settings)
    return app
