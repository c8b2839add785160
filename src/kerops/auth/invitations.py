"""Invitations: the one-time link of an invited person (a sign-in code, made for
``kerops.users.service.invite_user``) and its acceptance, which sets their password and signs
them in."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth import tokens
from kerops.auth.models import OtpCode
from kerops.auth.schemas import TokenPair
from kerops.core.errors import AppError
from kerops.core.i18n import current_language, gettext, ngettext
from kerops.core.mail import OutgoingMessage
from kerops.core.security import hash_token, random_token
from kerops.core.state import AppState
from kerops.core.types import utcnow
from kerops.users.models import User
from kerops.users.passwords import validate_password

INVITE_PURPOSE = "invite"


def invitation_link(session: AsyncSession, state: AppState, user: User) -> OutgoingMessage:
    """Add the one-time code of a new user's invitation and return the email with its link, in
    the invited person's language, or, while they have chosen none, the inviting request's."""
    token = random_token()
    session.add(
        OtpCode(
            user_id=user.id,
            purpose=INVITE_PURPOSE,
            channel="email",
            destination=user.email,
            code_hash=hash_token(token),
            max_attempts=1,
            expires_at=utcnow() + timedelta(hours=state.settings.invite_ttl_hours),
        )
    )
    link = f"{state.settings.base_url}/accept-invite?token={token}"
    language = user.language or current_language()
    hours = state.settings.invite_ttl_hours
    body = "\n\n".join(
        (
            gettext("Hello {name},", language, name=user.full_name),
            gettext(
                "You have been invited to KER Ops. Choose your password here:\n{link}",
                language,
                link=link,
            ),
            ngettext(
                "The link works once and expires in {n} hour.",
                "The link works once and expires in {n} hours.",
                hours,
                language,
            ),
        )
    )
    return OutgoingMessage(
        channel="email",
        to=user.email,
        subject=gettext("You are invited to KER Ops", language),
        body=body,
    )


def _invitation_error(detail: str, code: str) -> AppError:
    return AppError(detail, code=code)


async def accept_invitation(
    session: AsyncSession,
    state: AppState,
    *,
    token: str,
    password: str,
    full_name: str | None = None,
) -> TokenPair:
    """Set the invited user's password, spend the invitation and log them in."""
    row = (
        await session.execute(
            select(OtpCode, User)
            .join(User, User.id == OtpCode.user_id)
            .where(OtpCode.code_hash == hash_token(token), OtpCode.purpose == INVITE_PURPOSE)
        )
    ).first()
    if row is None:
        raise _invitation_error("This invitation link is not valid.", "invitation_invalid")
    code, user = row
    now = utcnow()
    if code.consumed_at is not None:
        raise _invitation_error("This invitation has already been used.", "invitation_used")
    if code.expires_at <= now:
        raise _invitation_error(
            "This invitation has expired; ask for a new one.", "invitation_expired"
        )
    if not user.is_active:
        raise _invitation_error("This account is deactivated.", "account_inactive")
    validate_password(password, user.email)
    spent = await session.execute(
        update(OtpCode)
        .where(OtpCode.id == code.id, OtpCode.consumed_at.is_(None))
        .values(consumed_at=now, attempts=OtpCode.attempts + 1)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise _invitation_error("This invitation has already been used.", "invitation_used")
    user.password_hash = state.security.hash_password(password)
    user.email_verified_at = now
    user.last_login_at = now
    if full_name:
        user.full_name = full_name
    return await tokens.issue_tokens(session, state, user)
