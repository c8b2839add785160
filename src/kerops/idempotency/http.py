"""Idempotent POSTs: an ``Idempotency-Key`` header makes a retried request answer as the first.

Every POST route whose caller is signed in (a user or an API key) takes the optional header;
the app adds it when it mounts the modules' routes (``adapt_route``), so no route declares it.

- The key is the caller's own (``user:<id>`` or ``api_key:<id>``), kept 24 hours.
- A request with a key is fingerprinted (SHA-256 of its method, path, query and body). The
  first one runs; its answer (status, body, content type, location) is recorded **in the same
  transaction as its changes**, just before the commit. A later request with the key and the
  same fingerprint gets that answer again, with ``Idempotent-Replayed: true``, and changes
  nothing; with another fingerprint it is a 422 ``idempotency_key_reused``.
- Only answers whose changes were committed are kept: a request that fails (any error, 4xx or
  5xx) rolls back and leaves the key unused, so it can be sent again, corrected.
- Concurrent requests with one key: on PostgreSQL the first takes a transaction-scoped advisory
  lock of the key and the others answer 409 ``idempotency_key_in_progress`` at once; on SQLite
  writers are serialised (``BEGIN IMMEDIATE``), so the others wait and get the replay. Either
  way exactly one of them runs (and the table's primary key refuses a second answer: that
  request rolls back as 409). A crash mid-request rolls the transaction back and releases the
  lock: no key is left half-claimed.
- Routes that sign in or answer credentials (login, token, refresh, OTP, invitations, API keys,
  device credentials, webhook secrets) and routes without a signed-in caller refuse the header
  with 400 ``idempotency_not_supported``: their answers must never be replayed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Annotated, Any, ClassVar, TypeVar, cast

from fastapi import Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from kerops.core.conditional import release_precondition
from kerops.core.deps import PrincipalDep, SessionDep, get_principal
from kerops.core.errors import AppError, Conflict, Unprocessable
from kerops.core.i18n import gettext
from kerops.core.principal import Principal
from kerops.core.state import AppState
from kerops.core.types import utcnow
from kerops.idempotency import repository
from kerops.idempotency.repository import StoredAnswer

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: How long a key and its answer are kept.
KEEP_FOR = timedelta(hours=24)
#: 1 to 255 visible ASCII characters (a UUID is a good key).
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
#: The answer's headers a replay repeats (others are the request's own, e.g. X-Request-ID).
KEPT_HEADERS = ("content-type", "location", "content-location", "etag")

_CLAIM = "kerops_idempotency"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

#: Endpoints whose answers must never be replayed although their caller is signed in.
_NOT_REPLAYABLE: set[Callable[..., Any]] = set()

F = TypeVar("F", bound=Callable[..., Any])


def not_replayable(endpoint: F) -> F:
    """Mark a POST endpoint whose answer must never be replayed (it shows a credential or
    signs in): it refuses ``Idempotency-Key``. Put it below the route decorator."""
    _NOT_REPLAYABLE.add(endpoint)
    return endpoint


class Replay(Exception):
    """Raised by the key's dependency to answer with a recorded answer instead of the route."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("replay")
        self.answer = answer

    def response(self) -> Response:
        """The recorded answer, marked as replayed."""
        headers = {**self.answer.headers, REPLAYED_HEADER: "true"}
        return Response(self.answer.body, status_code=self.answer.status_code, headers=headers)


class _Claim:
    """A key this request holds: its answer is recorded before the request's commit."""

    __slots__ = ("caller", "fingerprint", "key", "session")

    def __init__(self, session: AsyncSession, caller: str, key: str, fingerprint: str) -> None:
        self.session = session
        self.caller = caller
        self.key = key
        self.fingerprint = fingerprint

    async def record(self, response: Response) -> None:
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):
            return  # a streamed answer cannot be kept (no POST streams one today)
        now = utcnow()
        try:
            await repository.record(
                self.session,
                caller=self.caller,
                key=self.key,
                fingerprint=self.fingerprint,
                status_code=response.status_code,
                headers={k: v for k in KEPT_HEADERS if (v := response.headers.get(k)) is not None},
                body=body,
                now=now,
                expires_at=now + KEEP_FOR,
            )
        except IntegrityError as exc:
            # Another request recorded the key meanwhile (the lock makes this unreachable; the
            # primary key still keeps it to one): this one rolls back, its retry is a replay.
            raise _in_progress() from exc


def _in_progress() -> Conflict:
    return Conflict(
        gettext("A request with this Idempotency-Key is still running; retry shortly."),
        code="idempotency_key_in_progress",
    )


def caller_of(principal: Principal) -> str:
    """Whose keys these are: the API key's own when one is used, else the user's."""
    if principal.api_key_id is not None:
        return f"api_key:{principal.api_key_id}"
    return f"user:{principal.user_id}"


async def fingerprint_of(request: Request) -> str:
    """SHA-256 (hex) of the request's method, path, query and body (a form: its fields and
    files' names, types and bytes)."""
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode())
        digest.update(b"\0")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        # Parsed (and its files spooled) already, before the dependencies ran.
        form = await request.form()
        for name, value in form.multi_items():
            digest.update(name.encode() + b"\0")
            if isinstance(value, UploadFile):
                digest.update(f"{value.filename}\0{value.content_type}\0".encode())
                while chunk := await value.read(65536):
                    digest.update(chunk)
                await value.seek(0)
            else:
                digest.update(value.encode())
            digest.update(b"\0")
    else:
        digest.update(await request.body())
    return digest.hexdigest()


async def claim_key(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            pattern=KEY_PATTERN,
            description=(
                "Makes a retry safe: the first request with this key (1 to 255 visible ASCII "
                "characters, yours alone, kept 24 h) runs, a retry with the same request gets "
                "its answer again (`Idempotent-Replayed: true`). See the API guide."
            ),
        ),
    ] = None,
) -> None:
    """Replay the answer recorded under the caller's key, or hold the key for this request."""
    if key is None:
        return  # no statement at all without the header
    state: AppState = request.app.state.kerops
    caller = caller_of(principal)
    fingerprint = await fingerprint_of(request)
    if not state.settings.is_sqlite and not await repository.try_lock(
        session, caller=caller, key=key
    ):
        raise _in_progress()
    # SQLite: the write transaction began with BEGIN IMMEDIATE, so no other writer runs now.
    answer = await repository.find(session, caller=caller, key=key, now=utcnow())
    if answer is None:
        setattr(request.state, _CLAIM, _Claim(session, caller, key, fingerprint))
        return
    if answer.fingerprint != fingerprint:
        raise Unprocessable(
            gettext(
                "This Idempotency-Key was used for a different request (method, path or body); "
                "use a new key for a new request."
            ),
            code="idempotency_key_reused",
        )
    # The request ran already, with the version it named then: its answer is replayed as it
    # was, not judged again against the object as it is now.
    release_precondition(session.sync_session)
    raise Replay(answer)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class _IdempotentRoute(APIRoute):
    """Mixed into a POST route's class: replays and records keyed requests (or refuses the
    key, where answers must not be replayed)."""

    replayable: ClassVar[bool] = False

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        if not self.replayable:

            async def refusing(request: Request) -> Response:
                if HEADER in request.headers:
                    raise AppError(
                        gettext(
                            "This route does not take an Idempotency-Key: its answer signs in, "
                            "shows a credential or has no signed-in caller, and is never replayed."
                        ),
                        code="idempotency_not_supported",
                    )
                return await handler(request)

            return refusing

        async def recording(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response()
            claim: _Claim | None = getattr(request.state, _CLAIM, None)
            if claim is not None:
                # Still inside the request's transaction: its commit keeps both or neither.
                await claim.record(response)
            return response

        return recording


_route_classes: dict[tuple[type[APIRoute], bool], type[APIRoute]] = {}


def _route_class(base: type[APIRoute], replayable: bool) -> type[APIRoute]:
    """``base`` with the key's handling mixed in (one class per base and kind)."""
    found = _route_classes.get((base, replayable))
    if found is None:
        name = f"{'Idempotent' if replayable else 'Unreplayable'}{base.__name__}"
        bases = (_IdempotentRoute, base)
        found = cast(type[APIRoute], type(name, bases, {"replayable": replayable}))
        _route_classes[base, replayable] = found
    return found


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def supports_keys(route: APIRoute) -> bool:
    """Whether a POST route takes ``Idempotency-Key``: its caller is signed in and its answer
    may be replayed."""
    if route.endpoint in _NOT_REPLAYABLE:
        return False
    return get_principal in set(_calls(route.dependant))


def adapt_route(route: APIRoute) -> tuple[list[DependsParam], type[APIRoute]]:
    """The dependencies and route class the app mounts a module's route with (for
    ``core.routing.mount_flat``): a POST gets the key's handling, others stay as they are."""
    if "POST" not in (route.methods or ()):
        return list(route.dependencies), type(route)
    if supports_keys(route):
        return [*route.dependencies, Depends(claim_key)], _route_class(type(route), True)
    return list(route.dependencies), _route_class(type(route), False)
