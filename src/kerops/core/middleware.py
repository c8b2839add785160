"""The app's own ASGI middleware: request bodies capped before they are read, the language of
the request, and the security headers of every answer (see "Middleware" in
docs/architecture.md for the whole stack)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kerops.core.errors import PROBLEM_MEDIA_TYPE, BodyTooLarge, PayloadTooLarge, error_response
from kerops.core.i18n import DEFAULT_LANGUAGE, current_language, gettext, negotiate, set_language

#: Set (true) on a route class or an endpoint whose body is bounded by a limit of its own.
OWN_LIMIT_ATTRIBUTE = "bounds_own_body"
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def own_body_limit(endpoint: _Endpoint) -> _Endpoint:
    """Mark a route's endpoint as reading its body under a limit of its own (larger than the
    app's body limit, e.g. an IoT batch): the app's limit leaves it alone."""
    setattr(endpoint, OWN_LIMIT_ATTRIBUTE, True)
    return endpoint


def has_own_body_limit(route: BaseRoute) -> bool:
    """Whether a route bounds its body itself (an upload route, a marked endpoint)."""
    if getattr(route, OWN_LIMIT_ATTRIBUTE, False):  # a route class (the upload routes)
        return True
    return isinstance(route, APIRoute) and bool(getattr(route.endpoint, OWN_LIMIT_ATTRIBUTE, False))


class BodyLimitMiddleware:
    """Request bodies refused with a 413 past ``max_bytes``, before they are read: at once from a
    declared ``Content-Length``, else as soon as a streamed (chunked) body passes the limit.

    Every route and every path gets it (JSON and form bodies alike), except the routes that
    bound their body themselves with a larger limit of their own (file uploads, IoT batches).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, router: Router) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.router = router
        self._own_limit: tuple[BaseRoute, ...] = ()
        self._routes_seen = -1

    def _routes_with_own_limit(self) -> tuple[BaseRoute, ...]:
        routes = self.router.routes
        if len(routes) != self._routes_seen:
            self._own_limit = tuple(route for route in routes if has_own_body_limit(route))
            self._routes_seen = len(routes)
        return self._own_limit

    def exempt(self, scope: Scope) -> bool:
        """Whether the request goes to a route that bounds its own body."""
        return any(route.matches(scope)[0] is Match.FULL for route in self._routes_with_own_limit())

    def too_large(self) -> PayloadTooLarge:
        """The 413 of a body over the limit."""
        return PayloadTooLarge(
            gettext(
                "The request body is larger than the limit of {max_bytes} bytes.",
                max_bytes=self.max_bytes,
            ),
            max_bytes=self.max_bytes,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else None
                break
        if declared is not None:
            if declared <= self.max_bytes or self.exempt(scope):
                # The server hands the app exactly the declared length, never more.
                await self.app(scope, receive, send)
                return
            await error_response(Request(scope), self.too_large())(scope, receive, send)
            return
        await self.app(scope, self._limited(scope, receive), send)

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        """``receive`` counting a body of unknown length; past the limit it raises the 413
        (an HTTP exception, which FastAPI's body parsing lets through to the error handler)."""
        received = 0
        applies: bool | None = None

        async def limited_receive() -> Message:
            nonlocal received, applies
            message = await receive()
            if message["type"] == "http.request" and applies is not False:
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if applies is None:
                        applies = not self.exempt(scope)
                    if applies:
                        raise BodyTooLarge(self.too_large())
            return message

        return limited_receive


class LanguageMiddleware:
    """The request's language from its ``Accept-Language`` header (es-CL without one), set
    before any handler or validation runs (``kerops.core.i18n``); once the caller is known, the
    principal dependency puts the user's own language first (``kerops.core.deps``). Reads the
    headers only: nothing is allocated for a request without the header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            language = DEFAULT_LANGUAGE
            for name, value in scope["headers"]:
                if name == b"accept-language":
                    language = negotiate(value.decode("latin-1")) or DEFAULT_LANGUAGE
                    break
            if current_language() != language:
                set_language(language)
        await self.app(scope, receive, send)


def _language_headers(headers: MutableHeaders) -> None:
    """``Content-Language`` on a JSON answer; a problem document's body also depends on the
    ``Accept-Language`` header (``Vary``)."""
    media_type = headers.get("content-type", "")
    if media_type.startswith(PROBLEM_MEDIA_TYPE):
        headers.setdefault("Content-Language", current_language())
        vary = headers.get("vary")
        if vary is None:
            headers["Vary"] = "Accept-Language"
        elif "accept-language" not in vary.lower():
            headers["Vary"] = f"{vary}, Accept-Language"
    elif media_type.startswith("application/json"):
        headers.setdefault("Content-Language", current_language())


#: The content security policy of every API answer: it loads nothing and may not be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
_CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key"})


class SecurityHeadersMiddleware:
    """The security headers of every answer, errors and 500s included.

    ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``,
    ``X-Frame-Options: DENY`` and a content security policy (``API_CSP``; the pages of
    ``page_policies``, by exact path, their own) unless the answer set its own;
    ``Cache-Control: no-store`` unless the answer set its own caching and the request carried no
    credentials (an answer to ``Authorization`` or ``X-API-Key`` is never stored); no ``Server``
    header; ``Content-Language`` on JSON answers, with ``Vary: Accept-Language`` on problem
    documents (their text is the reader's language).
    """

    def __init__(self, app: ASGIApp, *, page_policies: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.page_policies = dict(page_policies or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        policy = self.page_policies.get(path, API_CSP)
        credentials = any(name in _CREDENTIAL_HEADERS for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if "server" in headers:
                    del headers["server"]
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", policy)
                caching = headers.get("cache-control")
                if caching is None or (credentials and "no-store" not in caching):
                    headers["Cache-Control"] = "no-store"
                _language_headers(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
