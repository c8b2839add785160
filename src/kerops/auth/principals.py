"""Who a request's credentials are: API keys and access tokens checked against their users and
sign-in sessions (registered with ``kerops.core.deps`` as its authenticator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import ApiKey, RefreshToken
from kerops.core import deps
from kerops.core.deps import API_KEY_PREFIX, PrincipalDep, SessionDep
from kerops.core.errors import Unauthorized
from kerops.core.i18n import gettext, supported
from kerops.core.principal import Principal
from kerops.core.security import hash_token
from kerops.core.state import AppState
from kerops.core.types import utcnow
from kerops.users.models import Client, User


def _principal_of(user: User, client_language: str | None, **extra: object) -> Principal:
    return Principal(
        user_id=user.id,
        role=user.role,
        client_id=user.client_id,
        vendor_id=user.vendor_id,
        client_role=user.client_role,
        language=supported(user.language),
        client_language=supported(client_language),
        **extra,  # type: ignore[arg-type]
    )


async def _from_api_key(
    state: AppState, session: AsyncSession, key: str, *, read_only: bool
) -> tuple[User, Principal]:
    row = (
        await session.execute(
            select(ApiKey, User, Client.language)
            .join(User, User.id == ApiKey.user_id)
            .outerjoin(Client, Client.id == User.client_id)
            .where(ApiKey.key_hash == hash_token(key))
        )
    ).first()
    now = utcnow()
    if row is None:
        raise Unauthorized(gettext("Invalid API key."))
    api_key, user, client_language = row
    if api_key.revoked_at is not None:
        raise Unauthorized(gettext("This API key has been revoked."))
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise Unauthorized(gettext("This API key has expired."))
    if not user.is_active:
        raise Unauthorized(gettext("The owner of this API key is deactivated."))
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
    principal = _principal_of(
        user, client_language, api_key_id=api_key.id, scopes=frozenset(api_key.scopes)
    )
    return user, principal


async def _from_jwt(
    state: AppState, session: AsyncSession, token: str
) -> tuple[User | None, Principal]:
    user_id, session_id = deps.jwt_identity(state, token)
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
    row = (
        await session.execute(
            select(User, revoked, Client.language)
            .outerjoin(Client, Client.id == User.client_id)
            .where(User.id == user_id)
        )
    ).first()
    if row is None or not row[0].is_active:
        raise Unauthorized(gettext("Invalid or expired access token."))
    if session_id is not None and row[1]:
        raise Unauthorized(gettext("This session has been logged out."))
    principal = _principal_of(row[0], row[2], session_id=session_id)
    cache.put(principal, generation=generation)
    return row[0], principal


async def authenticate(
    state: AppState,
    session: AsyncSession,
    bearer: str | None,
    api_key: str | None,
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


deps.authenticator(authenticate)


async def get_current_user(request: Request, principal: PrincipalDep, session: SessionDep) -> User:
    """The authenticated user's row: as loaded while authenticating, else read now (the
    principal came from the cache)."""
    user: User | None = request.state.user
    if user is None:
        user = await session.get(User, principal.user_id)
        if user is None or not user.is_active:
            raise Unauthorized(gettext("Invalid or expired access token."))
        request.state.user = user
    return user


CurrentUserDep = Annotated[User, Depends(get_current_user)]
