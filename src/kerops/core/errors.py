"""One error hierarchy and one JSON error shape (RFC 9457 problem details) for every 4xx/5xx."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("kerops.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class AppError(Exception):
    """Base of every error the service raises on purpose; each subclass has its status code."""

    status_code = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        #: Commit the request's changes although it fails (e.g. a spent OTP try, a revoked
        #: token family): security bookkeeping must survive the error it causes.
        self.keep_changes = keep_changes
        if code:
            self.code = code
        self.headers = headers or {}
        self.extra = extra


class Unauthorized(AppError):
    """No valid credentials were given."""

    status_code = 401
    code = "unauthorized"
    title = "Not authenticated"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    """The caller is known but may not do this."""

    status_code = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    """The object does not exist or is outside the caller's reach (never told apart)."""

    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    """The request conflicts with the current state (duplicates, forbidden transitions)."""

    status_code = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(AppError):
    """The request body is larger than allowed."""

    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"


class BodyTooLarge(StarletteHTTPException):
    """A body passing its limit while it is read. An HTTP exception, because FastAPI turns any
    other error raised while it reads a body into a 400; answered as its ``PayloadTooLarge``."""

    def __init__(self, error: PayloadTooLarge) -> None:
        super().__init__(status_code=413, detail=error.detail)
        self.error = error


class Unprocessable(AppError):
    """The body is well-formed but breaks a rule; ``errors`` lists the offending fields."""

    status_code = 422
    code = "validation_error"
    title = "Validation failed"


class Gone(AppError):
    """What the request names existed once and is no longer kept (an expired sync cursor)."""

    status_code = 410
    code = "gone"
    title = "Gone"


class PlanLimitExceeded(AppError):
    """A create would exceed a limit of the client's subscription plan."""

    status_code = 403
    code = "plan_limit_exceeded"
    title = "Plan limit exceeded"


class TooManyRequests(AppError):
    """Rate limit hit; ``Retry-After`` says when to try again."""

    status_code = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.extra = {"retry_after": max(1, retry_after)}


class DatabaseUnavailable(AppError):
    """The database cannot be reached (refused, timed out, shut down, connection lost): 503 with
    ``Retry-After``; the next request tries again with a new connection."""

    status_code = 503
    code = "database_unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "The database cannot be reached; try again shortly.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )


#: Seconds a client is asked to wait before trying again when the database is out of reach.
DATABASE_RETRY_AFTER_SECONDS = 5


def field_error(loc: tuple[str | int, ...], msg: str, type_: str = "value_error") -> dict[str, Any]:
    """One field error in Pydantic's shape, for ``Unprocessable(errors=[...])``."""
    return {"loc": list(loc), "msg": msg, "type": type_}


def problem(
    request: Request,
    status: int,
    *,
    title: str,
    detail: str,
    code: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build the problem-details response every error handler returns."""
    body: dict[str, Any] = {
        "type": f"https://kerops.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    body.update(extra)
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def error_response(request: Request, exc: AppError) -> JSONResponse:
    """The problem-details answer of one of the service's own errors."""
    return problem(
        request,
        exc.status_code,
        title=exc.title,
        detail=exc.detail,
        code=exc.code,
        headers=exc.headers,
        **exc.extra,
    )


_STATUS_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Not authenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_error", "Validation failed"),
    429: ("rate_limited", "Too many requests"),
}


#: PostgreSQL's answers to text it cannot take: a NUL character in a text value (22021), and
#: ``\u0000`` in a JSON value (22P05).
_UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


def is_unstorable_text(exc: BaseException) -> bool:
    """Whether a database error says the request's text had a NUL character (the input models
    refuse them; this catches a query parameter or form field that reached the database)."""
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in _UNSTORABLE_TEXT


#: PostgreSQL's answers of a server that will not serve the connection: class 08 (connection
#: exception), shut down by an administrator or a crash, starting up or shutting down (57P0x),
#: too many connections (53300).
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
#: SQLite's: the file cannot be opened (a missing volume, a path that is no file), or a writer
#: still found the database locked when its busy timeout (30 s) ran out.
_UNAVAILABLE_SQLITE = frozenset({"SQLITE_CANTOPEN", "SQLITE_BUSY"})


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether an error says the database is out of reach (refused, shut down, connection lost,
    no pooled connection in time), not that a statement failed."""
    if isinstance(exc, DatabaseUnavailable | SQLAlchemyTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    # SQLAlchemy's asyncpg adapter keeps asyncpg's own error as the cause.
    for error in (exc, exc.__cause__):
        if isinstance(error, asyncpg.ConnectionDoesNotExistError | OSError):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error):
            return True
        if getattr(error, "sqlite_errorname", None) in _UNAVAILABLE_SQLITE:
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
    return False


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into one problem-details shape."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in exc.errors()
        ]
        return problem(
            request,
            422,
            title="Validation failed",
            detail="The request is not valid; see errors.",
            code="validation_error",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return await _app_error(request, exc.error)
        code, title = _STATUS_CODES.get(exc.status_code, ("error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(
            request,
            exc.status_code,
            title=title,
            detail=detail,
            code=code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(asyncpg.PostgresError)
    @app.exception_handler(asyncpg.InterfaceError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if is_database_unavailable(exc):
            log.warning("database_unavailable", path=request.url.path, error=repr(exc))
            return await _app_error(request, DatabaseUnavailable())
        if not is_unstorable_text(exc):
            return await _unhandled(request, exc)
        return problem(
            request,
            422,
            title="Validation failed",
            detail="The request has text with a NUL character, which cannot be stored or searched.",
            code="nul_character",
        )

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem(
            request,
            500,
            title="Internal server error",
            detail="An unexpected error occurred; it has been logged.",
            code="internal_error",
        )
