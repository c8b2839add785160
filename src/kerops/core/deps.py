"""FastAPI dependencies: the request's unit of work and the authenticated principal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import row_scope
from kerops.core.audit import set_audit_context
from kerops.core.conditional import bind_precondition
from kerops.core.errors import AppError, Forbidden, Unauthorized
from kerops.core.i18n import (
    choose,
    current_language,
    gettext,
    remember_client_language,
    set_language,
)
from kerops.core.jobs import take_pending
from kerops.core.principal import AuditContext, Principal
from kerops.core.reads import Reader
from kerops.core.security import TokenError
from kerops.core.state import AppState
from kerops.core.storage.uploads import UploadRoute

API_KEY_PREFIX = "kro_"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_state(request: Request) -> AppState:
    """The app's shared services."""
    state: AppState = request.app.state.kerops
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    # The state is read here rather than through ``StateDep``: every request solves this
    # dependency, and each dependency node costs FastAPI tens of µs to solve.
    state: AppState = request.app.state.kerops
    read_only = request.method in READ_METHODS
    factory = state.db.read_sessions if read_only else state.db.sessions
    async with factory() as session:
        set_audit_context(
            session.sync_session,
            AuditContext(
                request_id=getattr(request.state, "request_id", None),
                ip_address=request.client.host if request.client else None,
            ),
        )
        if not read_only:
            bind_precondition(request, session.sync_session)
        try:
            yield session
            if not (read_only and state.db.reads_autocommit) or _has_changes(session):
                # (Autocommit reads have nothing to commit unless an object was changed and not
                # flushed yet: skipping the commit saves ~0.15 ms of a read's CPU.)
                await session.commit()
        except AppError as exc:
            if exc.keep_changes:
                await session.commit()
            else:
                await session.rollback()
                take_pending(session)
            raise
        except BaseException:
            await session.rollback()
            take_pending(session)
            raise
    # Jobs queued by the request go to the broker only now that its changes are committed.
    await state.jobs.send_pending(session)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def _has_changes(session: AsyncSession) -> bool:
    return bool(session.new or session.dirty or session.deleted)


def client_ip(request: Request) -> str:
    """The caller's address (the direct peer; proxies are configured at the edge)."""
    return request.client.host if request.client else "unknown"


def jwt_identity(state: AppState, token: str) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The user and sign-in session a valid access token names (401 for any other token)."""
    try:
        claims = state.security.decode_jwt(token, typ="access")
        return (
            uuid.UUID(claims["sub"]),
            uuid.UUID(claims["sid"]) if claims.get("sid") else None,
        )
    except (TokenError, ValueError, KeyError) as exc:
        raise Unauthorized(gettext("Invalid or expired access token.")) from exc


#: Who the credentials of a request are (an API key in its header or as a bearer token, else an
#: access token): the caller's user row when it was read (else ``None``) and principal, ``None``
#: without any credentials; 401 for a bad one. Registered by the module owning users and
#: credentials (``kerops.auth``): core names no domain.
Authenticator = Callable[
    [AppState, AsyncSession, str | None, str | None, bool],
    Awaitable[tuple[Any, Principal] | None],
]
_AUTHENTICATOR: list[Authenticator] = []


def authenticator(fn: Authenticator) -> Authenticator:
    """Register how a request's credentials are checked."""
    _AUTHENTICATOR[:] = [fn]
    return fn


async def _authenticate(
    state: AppState,
    session: AsyncSession,
    bearer: str | None,
    api_key: str | None,
    *,
    read_only: bool,
) -> tuple[Any, Principal] | None:
    if not _AUTHENTICATOR:
        raise RuntimeError("no module registered an authenticator (kerops.core.deps)")
    # Whose credentials these are is not known before they are found: the look-up crosses
    # clients (``kerops.core.row_scope``); the caller's own scope is set once it is known.
    with row_scope.platform():
        return await _AUTHENTICATOR[0](state, session, bearer, api_key, read_only)


async def get_optional_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal | None:
    """The caller if credentials were given (a bad credential is still a 401)."""
    state: AppState = request.app.state.kerops
    found = await _authenticate(
        state, session, bearer, api_key, read_only=request.method in READ_METHODS
    )
    if found is None:
        return None
    user, principal = found
    use_language(request, principal)
    _check_method_scope(principal, request.method)
    # From here on the request's statements see the caller's clients' rows only.
    row_scope.use(row_scope.of_principal(principal))
    ctx = session.sync_session.info.get("kerops_audit")
    if ctx is not None:
        ctx.actor_user_id = principal.user_id
        ctx.actor_api_key_id = principal.api_key_id
    request.state.principal = principal
    request.state.user = user
    return principal


def use_language(request: Request, principal: Principal) -> None:
    """Answer in the caller's language from now on: the user's own, else the browser's
    (``Accept-Language``), else their client's default (``kerops.core.i18n.choose``)."""
    language = principal.language or choose(
        None, request.headers.get("accept-language"), principal.client_language
    )
    if current_language() != language:
        set_language(language)
    remember_client_language(principal.client_id, principal.client_language)


def _check_method_scope(principal: Principal, method: str) -> None:
    """403 for an API key without the scope of the request's kind (``read`` or ``write``)."""
    if principal.scopes is not None:
        needed = "read" if method in READ_METHODS else "write"
        if not principal.has_scope(needed):
            raise Forbidden(
                gettext("This API key lacks the '{scope}' scope.", scope=needed),
                code="insufficient_scope",
            )


async def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """The authenticated caller, or 401 (the same as ``get_optional_principal``, one dependency
    node fewer for FastAPI to solve on every request)."""
    principal = await get_optional_principal(request, session, bearer, api_key)
    if principal is None:
        raise Unauthorized()
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_reader(
    request: Request,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Reader:
    """The caller of a route that only shows data, with the runner of its statements
    (``kerops.core.reads``): the same credentials, checks and errors as ``get_principal``, but
    no request session. A cached principal costs no statement at all; otherwise it is loaded in
    a short read session of its own (an API key's last use in its own short transaction, as for
    any read)."""
    state: AppState = request.app.state.kerops
    principal: Principal | None = None
    if bearer and not api_key and not bearer.startswith(API_KEY_PREFIX):
        principal = state.db.principals.get(*jwt_identity(state, bearer))
    if principal is None:
        async with state.db.read_sessions() as session:
            found = await _authenticate(state, session, bearer, api_key, read_only=True)
        if found is None:
            raise Unauthorized()
        principal = found[1]
    use_language(request, principal)
    _check_method_scope(principal, request.method)
    row_scope.use(row_scope.of_principal(principal))
    request.state.principal = principal
    return Reader(principal, state.db.reads)


ReaderDep = Annotated[Reader, Depends(get_reader)]


async def cross_client_scope() -> None:
    """The platform's row scope (``kerops.core.row_scope``) for the routes whose caller is not
    known when they read: signing in, registering, accepting an invitation, a public QR scan.
    Their look-ups cross clients (a user by email, an asset by its code), so the database's
    wall does not narrow them; a principal dependency after it sets the caller's scope."""
    row_scope.use(row_scope.PLATFORM)


#: ``dependencies=[CROSS_CLIENT]`` on a route or router (see ``cross_client_scope``).
CROSS_CLIENT = Depends(cross_client_scope)
OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]


async def require_staff(principal: PrincipalDep) -> Principal:
    """Platform staff only (403 for everyone else)."""
    if not principal.is_staff:
        raise Forbidden(gettext("Platform staff only."))
    return principal


StaffDep = Annotated[Principal, Depends(require_staff)]


def require_scope(scope: str):  # type: ignore[no-untyped-def]
    """A dependency demanding an extra API-key scope (e.g. ``admin``) on top of read/write."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has_scope(scope):
            raise Forbidden(
                gettext("This API key lacks the '{scope}' scope.", scope=scope),
                code="insufficient_scope",
            )
        return principal

    return dependency


# --- uploads: credentials before the body --------------------------------------------------------


async def check_credentials(request: Request) -> None:
    """401 unless the request carries valid credentials (a known, usable API key, or an access
    token of an active user whose session is open). Scopes and access are checked afterwards by
    the route's own dependencies, as for any request."""
    state: AppState = request.app.state.kerops
    bearer = await oauth2_scheme(request)
    api_key = await api_key_header(request)
    async with state.db.read_sessions() as session:
        # Read-only: an API key's last use is recorded in its own short transaction.
        found = await _authenticate(state, session, bearer, api_key, read_only=True)
    if found is None:
        raise Unauthorized()


class AuthenticatedUploadRoute(UploadRoute):
    """An upload route whose caller must be signed in: the credentials are checked before a
    byte of the body is read, so nobody without them can make the server take a large upload."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            await check_credentials(request)
            return await handler(request)

        return checked
