"""Login sessions: short-lived access JWTs and rotating refresh tokens with re-use detection."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import RefreshToken
from kerops.auth.schemas import TokenPair
from kerops.core.errors import Unauthorized
from kerops.core.i18n import gettext
from kerops.core.security import hash_token, random_token
from kerops.core.state import AppState
from kerops.core.types import utcnow, uuid7
from kerops.users.models import User


async def issue_tokens(
    session: AsyncSession, state: AppState, user: User, *, family_id: uuid.UUID | None = None
) -> TokenPair:
    """Start (or continue) a login session and return its access and refresh tokens."""
    settings = state.settings
    family_id = family_id or uuid7()
    refresh = random_token(32)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_token(refresh),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
        )
    )
    ttl = timedelta(minutes=settings.access_token_minutes)
    access = state.security.encode_jwt(
        {"sub": str(user.id), "sid": str(family_id), "typ": "access", "role": user.role.value},
        ttl,
    )
    await session.flush()
    return TokenPair(
        access_token=access, refresh_token=refresh, expires_in=int(ttl.total_seconds())
    )


async def revoke_family(
    session: AsyncSession, family_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> None:
    """End a login session: its refresh tokens and its access tokens stop working."""
    stmt = update(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None)
    )
    if user_id is not None:
        stmt = stmt.where(RefreshToken.user_id == user_id)
    await session.execute(stmt.values(revoked_at=utcnow()))


async def end_sessions_of(session: AsyncSession, user_id: uuid.UUID) -> None:
    """End every login session of a user (deactivated): their refresh and access tokens stop
    working."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def rotate(session: AsyncSession, state: AppState, token: str) -> TokenPair:
    """Trade a refresh token for a new pair; a spent token's re-use revokes its whole family."""
    row = (
        await session.execute(
            select(RefreshToken, User)
            .join(User, User.id == RefreshToken.user_id)
            .where(RefreshToken.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        raise Unauthorized(gettext("Invalid refresh token."))
    stored, user = row
    if stored.revoked_at is not None:
        raise Unauthorized(gettext("This session has ended; log in again."))
    if stored.used_at is not None:
        await revoke_family(session, stored.family_id)
        raise Unauthorized(
            gettext("This refresh token was already used; the session has been revoked."),
            code="refresh_token_reused",
            keep_changes=True,
        )
    if stored.expires_at <= utcnow():
        raise Unauthorized(gettext("The refresh token has expired; log in again."))
    if not user.is_active:
        raise Unauthorized(gettext("This account is deactivated."))
    spent = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        # Another request rotated this token at the same moment: treat as re-use.
        await revoke_family(session, stored.family_id)
        raise Unauthorized(
            gettext("This refresh token was already used; the session has been revoked."),
            code="refresh_token_reused",
            keep_changes=True,
        )
    return await issue_tokens(session, state, user, family_id=stored.family_id)


async def family_of(session: AsyncSession, token: str) -> uuid.UUID | None:
    """The login session a refresh token belongs to."""
    return (
        await session.execute(
            select(RefreshToken.family_id).where(RefreshToken.token_hash == hash_token(token))
        )
    ).scalar_one_or_none()
