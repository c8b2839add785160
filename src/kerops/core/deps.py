"""FastAPI dependencies: the request's unit of work and the authenticated principal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import ApiKey, RefreshToken
from kerops.core.audit import set_audit_context
from kerops.core.errors import AppError, Forbidden, Unauthorized
from kerops.core.jobs import take_pending
from kerops.core.principal import AuditContext, Principal
from kerops.core.reads import Reader
from kerops.core.security import TokenError, hash_token
from kerops.core.state import AppState
from kerops.core.storage.uploads import UploadRoute
from kerops.core.types import utcnow
from kerops.users.models import User

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


def _principal_of(user: User, **extra: object) -> Principal:
    return Principal(
        user_id=user.id,
        role=user.role,
        client_id=user.client_id,
        vendor_id=user.vendor_id,
        **extra,  # type: ignore[arg-type]
    )


async def _from_api_key(
    state: AppState, session: AsyncSession, key: str, *, read_only: bool
) -> tuple[User, Principal]:
    row = (
        await session.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == hash_token(key))
        )
    ).first()
    now = utcnow()
    if row is None:
        raise Unauthorized("Invalid API key.")
    api_key, user = row
    if api_key.revoked_at is not None:
        raise Unauthorized("This API key has been revoked.")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise Unauthorized("This API key has expired.")
    if not user.is_active:
        raise Unauthorized("The owner of this API key is deactivated.")
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        # At most once a minute per key and without an audit entry of its own; a read-only
        # request writes it in its own short transaction.
        touch = update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now)
        if read_only:
            async with state.db.sessions() as writer:
                await writer.execute(touch)
                await writer.commit()
        else:
            await session.execute(touch)
    return user, _principal_of(user, api_key_id=api_key.id, scopes=frozenset(api_key.scopes))


def _jwt_identity(state: AppState, token: str) -> tuple[uuid.UUID, uuid.UUID | None]:
    """The user and sign-in session a valid access token names (401 for any other token)."""
    try:
        claims = state.security.decode_jwt(token, typ="access")
        return (
            uuid.UUID(claims["sub"]),
            uuid.UUID(claims["sid"]) if claims.get("sid") else None,
        )
    except (TokenError, ValueError, KeyError) as exc:
        raise Unauthorized("Invalid or expired access token.") from exc


async def _from_jwt(
    state: AppState, session: AsyncSession, token: str
) -> tuple[User | None, Principal]:
    user_id, session_id = _jwt_identity(state, token)
    # A valid token whose user and sign-in session were checked moments ago (see PrincipalCache).
    cache = state.db.principals
    cached = cache.get(user_id, session_id)
    if cached is not None:
        return None, cached
    generation = cache.generation
    revoked = (
        exists()
        .where(RefreshToken.family_id == session_id, RefreshToken.revoked_at.is_not(None))
        .correlate(None)
    )
    row = (await session.execute(select(User, revoked).where(User.id == user_id))).first()
    if row is None or not row[0].is_active:
        raise Unauthorized("Invalid or expired access token.")
    if session_id is not None and row[1]:
        raise Unauthorized("This session has been logged out.")
    principal = _principal_of(row[0], session_id=session_id)
    cache.put(principal, generation=generation)
    return row[0], principal


async def _authenticate(
    state: AppState,
    session: AsyncSession,
    bearer: str | None,
    api_key: str | None,
    *,
    read_only: bool,
) -> tuple[User | None, Principal] | None:
    """The caller of these credentials (an API key in its header or as a bearer token, else an
    access token), None without any; 401 for a bad one."""
    if api_key:
        return await _from_api_key(state, session, api_key, read_only=read_only)
    if bearer and bearer.startswith(API_KEY_PREFIX):
        return await _from_api_key(state, session, bearer, read_only=read_only)
    if bearer:
        return await _from_jwt(state, session, bearer)
    return None


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
    _check_method_scope(principal, request.method)
    ctx = session.sync_session.info.get("kerops_audit")
    if ctx is not None:
        ctx.actor_user_id = principal.user_id
        ctx.actor_api_key_id = principal.api_key_id
    request.state.principal = principal
    request.state.user = user
    return principal


def _check_method_scope(principal: Principal, method: str) -> None:
    """403 for an API key without the scope of the request's kind (``read`` or ``write``)."""
    if principal.scopes is not None:
        needed = "read" if method in READ_METHODS else "write"
        if not principal.has_scope(needed):
            raise Forbidden(f"This API key lacks the '{needed}' scope.", code="insufficient_scope")


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


async def get_current_user(request: Request, principal: PrincipalDep, session: SessionDep) -> User:
    """The authenticated user's row: as loaded while authenticating, else read now (the
    principal came from the cache)."""
    user: User | None = request.state.user
    if user is None:
        user = await session.get(User, principal.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("Invalid or expired access token.")
        request.state.user = user
    return user


CurrentUserDep = Annotated[User, Depends(get_current_user)]


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
        principal = state.db.principals.get(*_jwt_identity(state, bearer))
    if principal is None:
        async with state.db.read_sessions() as session:
            found = await _authenticate(state, session, bearer, api_key, read_only=True)
        if found is None:
            raise Unauthorized()
        principal = found[1]
    _check_method_scope(principal, request.method)
    request.state.principal = principal
    return Reader(principal, state.db.reads)


ReaderDep = Annotated[Reader, Depends(get_reader)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]


async def require_staff(principal: PrincipalDep) -> Principal:
    """Platform staff only (403 for everyone else)."""
    if not principal.is_staff:
        raise Forbidden("Platform staff only.")
    return principal


StaffDep = Annotated[Principal, Depends(require_staff)]


def require_scope(scope: str):  # type: ignore[no-untyped-def]
    """A dependency demanding an extra API-key scope (e.g. ``admin``) on top of read/write."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has_scope(scope):
            raise Forbidden(f"This API key lacks the '{scope}' scope.", code="insufficient_scope")
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
