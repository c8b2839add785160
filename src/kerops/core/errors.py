"""One error hierarchy and one JSON error shape (RFC 9457 problem details) for every 4xx/5xx."""

from __future__ import annotations

import http
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

from kerops.core.i18n import N_, current_language, gettext

log = structlog.get_logger("kerops.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class AppError(Exception):
    """Base of every error the service raises on purpose; each subclass has its status code.

    ``title`` is marked with ``N_`` and translated when the problem document is written;
    ``detail`` is passed translated (``gettext(...)``) by the code raising the error, and is the
    translated title when none is given."""

    status_code = 400
    code = "bad_request"
    title = N_("Bad request")

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
        #: None: the problem document repeats the (translated) title.
        self.given_detail = detail
        #: Commit the request's changes although it fails (e.g. a spent OTP try, a revoked
        #: token family): security bookkeeping must survive the error it causes.
        self.keep_changes = keep_changes
        if code:
            self.code = code
        self.headers = headers or {}
        self.extra = extra

    @property
    def detail(self) -> str:
        """The detail in the request's language (the title's translation when none was given)."""
        return self.given_detail or gettext(self.title)


class Unauthorized(AppError):
    """No valid credentials were given."""

    status_code = 401
    code = "unauthorized"
    title = N_("Not authenticated")

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    """The caller is known but may not do this."""

    status_code = 403
    code = "forbidden"
    title = N_("Forbidden")


class NotFound(AppError):
    """The object does not exist or is outside the caller's reach (never told apart)."""

    status_code = 404
    code = "not_found"
    title = N_("Not found")


class Conflict(AppError):
    """The request conflicts with the current state (duplicates, forbidden transitions)."""

    status_code = 409
    code = "conflict"
    title = N_("Conflict")


class PayloadTooLarge(AppError):
    """The request body is larger than allowed."""

    status_code = 413
    code = "payload_too_large"
    title = N_("Payload too large")


class BodyTooLarge(StarletteHTTPException):
    """A body passing its limit while it is read. An HTTP exception, because FastAPI turns any
    other error raised while it reads a body into a 400; answered as its ``PayloadTooLarge``."""

    def __init__(self, error: PayloadTooLarge) -> None:
        super().__init__(status_code=413, detail=error.given_detail)
        self.error = error


class Unprocessable(AppError):
    """The body is well-formed but breaks a rule; ``errors`` lists the offending fields."""

    status_code = 422
    code = "validation_error"
    title = N_("Validation failed")


class Gone(AppError):
    """What the request names existed once and is no longer kept (an expired sync cursor)."""

    status_code = 410
    code = "gone"
    title = "Gone"


class PlanLimitExceeded(AppError):
    """A create would exceed a limit of the client's subscription plan."""

    status_code = 403
    code = "plan_limit_exceeded"
    title = N_("Plan limit exceeded")


class TooManyRequests(AppError):
    """Rate limit hit; ``Retry-After`` says when to try again."""

    status_code = 429
    code = "rate_limited"
    title = N_("Too many requests")

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.extra = {"retry_after": max(1, retry_after)}


class DatabaseUnavailable(AppError):
    """The database cannot be reached (refused, timed out, shut down, connection lost): 503 with
    ``Retry-After``; the next request tries again with a new connection."""

    status_code = 503
    code = "database_unavailable"
    title = N_("Service unavailable")

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or gettext("The database cannot be reached; try again shortly."),
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
        title=gettext(exc.title),
        detail=exc.detail,
        code=exc.code,
        headers=exc.headers,
        **exc.extra,
    )


_STATUS_CODES = {
    400: ("bad_request", N_("Bad request")),
    401: ("unauthorized", N_("Not authenticated")),
    403: ("forbidden", N_("Forbidden")),
    404: ("not_found", N_("Not found")),
    405: ("method_not_allowed", N_("Method not allowed")),
    406: ("not_acceptable", N_("Not acceptable")),
    409: ("conflict", N_("Conflict")),
    413: ("payload_too_large", N_("Payload too large")),
    415: ("unsupported_media_type", N_("Unsupported media type")),
    422: ("validation_error", N_("Validation failed")),
    429: ("rate_limited", N_("Too many requests")),
}


class InvalidValue(ValueError):
    """A validator's refusal whose text is translated when the 422 is written (the reader's
    language may not be known yet while the body is validated): ``message`` is marked with
    ``N_`` and fills named ``params``. A plain ``ValueError(N_("..."))`` is translated too."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params

    def translated(self) -> str:
        """The text in the request's language; a parameter that is itself an ``InvalidValue``
        (or a list of them, joined with "; ") is translated too."""
        params = {name: _translated(value) for name, value in self.params.items()}
        return gettext(self.message, **params)


def _translated(value: Any) -> Any:
    if isinstance(value, InvalidValue):
        return value.translated()
    if isinstance(value, list) and value and all(isinstance(v, InvalidValue) for v in value):
        return "; ".join(v.translated() for v in value)
    return value


#: Pydantic's messages of the error types requests meet most, by type (the ``ctx`` of an error
#: fills the placeholders); a type not listed keeps Pydantic's English message. Also the types
#: of our own ``PydanticCustomError``s.
VALIDATION_MESSAGES: dict[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "finite_number": N_("Input should be a finite number"),
    "decimal_type": N_("Decimal input should be an integer, float, string or Decimal object"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "uuid_type": N_("UUID input should be a string, bytes or UUID object"),
    "uuid_parsing": N_("Input should be a valid UUID"),
    "enum": N_("Input should be {expected}"),
    "literal_error": N_("Input should be {expected}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "too_short": N_("The list should have at least {min_length} items"),
    "too_long": N_("The list should have at most {max_length} items"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid object"),
    "model_attributes_type": N_(
        "Input should be a valid dictionary or object to extract fields from"
    ),
    "json_invalid": N_("Invalid JSON"),
    "json_type": N_("JSON input should be string, bytes or bytearray"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date"),
    "timezone_aware": N_("Input should have timezone info"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime"),
    "date_from_datetime_inexact": N_("Datetimes provided to dates should have zero time"),
    "time_type": N_("Input should be a valid time"),
    "time_parsing": N_("Input should be in a valid time format"),
    "url_parsing": N_("Input should be a valid URL"),
    "url_type": N_("URL input should be a string or URL"),
    "url_scheme": N_("URL scheme should be {expected_schemes}"),
    "url_too_long": N_("URL should have at most {max_length} characters"),
    "datetime_out_of_range": N_("must be between {minimum} and {maximum}"),
    "date_out_of_range": N_("must be between {minimum} and {maximum}"),
}
#: The types whose message is ours in every language (English included).
_OWN_TYPES = frozenset({"datetime_out_of_range", "date_out_of_range"})


def _validation_message(error: Any) -> str:
    """One validation error's ``msg`` in the request's language."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        if isinstance(cause, InvalidValue):
            text = cause.translated()
        elif isinstance(cause, BaseException):
            text = gettext(str(cause))
        else:
            return str(error.get("msg", ""))
        return gettext("Value error, {error}", error=text)
    template = VALIDATION_MESSAGES.get(kind)
    if template is None or (current_language() == "en" and kind not in _OWN_TYPES):
        # English: Pydantic's own message, exact (plurals and all).
        return str(error.get("msg", ""))
    try:
        return gettext(template, **{k: v for k, v in ctx.items() if isinstance(k, str)})
    except (KeyError, IndexError, ValueError):
        return str(error.get("msg", ""))


def validation_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors in the problem document's shape: ``loc`` and ``type`` as they are,
    ``msg`` translated."""
    return [
        {
            **{k: v for k, v in err.items() if k in ("loc", "type")},
            "msg": _validation_message(err),
        }
        for err in errors
    ]


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


def _phrase(status: int) -> str | None:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into one problem-details shape."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            request,
            422,
            title=gettext("Validation failed"),
            detail=gettext("The request is not valid; see errors."),
            code="validation_error",
            errors=validation_errors(exc.errors()),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return await _app_error(request, exc.error)
        code, title = _STATUS_CODES.get(exc.status_code, ("error", N_("Error")))
        title = gettext(title)
        # Starlette's default detail is the status's English phrase: the title says it.
        given = exc.detail if isinstance(exc.detail, str) else None
        detail = title if given is None or given == _phrase(exc.status_code) else given
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
            title=gettext("Validation failed"),
            detail=gettext(
                "The request has text with a NUL character, which cannot be stored or searched."
            ),
            code="nul_character",
        )

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem(
            request,
            500,
            title=gettext("Internal server error"),
            detail=gettext("An unexpected error occurred; it has been logged."),
            code="internal_error",
        )
