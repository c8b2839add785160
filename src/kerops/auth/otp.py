"""Login by one-time code sent by email or SMS: hashed, short-lived, limited tries, single use."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import OtpCode
from kerops.core.errors import Unauthorized
from kerops.core.i18n import N_, gettext, ngettext
from kerops.core.mail import OutgoingMessage
from kerops.core.security import constant_time_equals, random_digits
from kerops.core.state import AppState
from kerops.core.types import utcnow
from kerops.users.models import User
from kerops.users.service import find_user_by_email, normalise_email

Channel = Literal["email", "sms"]

PURPOSE_LOGIN = "login"
#: The answer to every code request, whether or not the account exists.
REQUEST_ACCEPTED = "If an account exists, a code has been sent."
_INVALID = N_("Invalid or expired code.")
_PHONE_NOISE = re.compile(r"[\s\-]")


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a code goes: a channel and a normalised address (email or phone)."""

    channel: Channel
    address: str


def destination_of(*, email: str | None, phone: str | None) -> Destination:
    """The normalised destination of a request carrying an email or a phone."""
    if email is not None:
        return Destination("email", normalise_email(email))
    if phone is not None:
        return Destination("sms", normalise_phone(phone))
    raise ValueError("an email or a phone is required")


def normalise_phone(phone: str) -> str:
    """Phones are compared without spaces and dashes."""
    return _PHONE_NOISE.sub("", phone.strip())


def hash_code(state: AppState, *, purpose: str, destination: str, code: str) -> str:
    """HMAC-SHA256 of a code, keyed by the service secret and bound to its purpose and address.

    Six digits hash to one of a million values; without the secret key a stolen table cannot be
    brute-forced offline.
    """
    key = hmac.new(
        state.settings.resolved_secret_key().encode(), b"kerops-otp", hashlib.sha256
    ).digest()
    message = f"{purpose}\x00{destination}\x00{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def find_user(session: AsyncSession, destination: Destination) -> User | None:
    """The account owning an email or a phone (None when unknown or ambiguous)."""
    if destination.channel == "email":
        return await find_user_by_email(session, destination.address)
    stored = func.replace(func.replace(User.phone, " ", ""), "-", "")
    users = (
        (await session.execute(select(User).where(stored == destination.address).limit(2)))
        .scalars()
        .all()
    )
    return users[0] if len(users) == 1 else None


def _message(user: User, destination: Destination, code: str, ttl_minutes: int) -> OutgoingMessage:
    """The code's message, in the account's language (whoever asked for it)."""
    language = user.language
    subject = gettext("Your KER Ops sign-in code", language)
    body = ngettext(
        "Your sign-in code is {code}. It expires in {n} minute.",
        "Your sign-in code is {code}. It expires in {n} minutes.",
        ttl_minutes,
        language,
        code=code,
    )
    to = user.email if destination.channel == "email" else destination.address
    return OutgoingMessage(channel=destination.channel, to=to, subject=subject, body=body)


async def request_login_code(
    session: AsyncSession, state: AppState, *, destination: Destination
) -> OutgoingMessage | None:
    """Issue a login code to an active account; the message to deliver (None if no account)."""
    user = await find_user(session, destination)
    if user is None or not user.is_active:
        return None
    settings = state.settings
    now = utcnow()
    await session.execute(
        update(OtpCode)
        .where(
            OtpCode.purpose == PURPOSE_LOGIN,
            OtpCode.destination == destination.address,
            OtpCode.consumed_at.is_(None),
        )
        .values(consumed_at=now)
    )
    code = random_digits(settings.otp_length)
    session.add(
        OtpCode(
            user_id=user.id,
            purpose=PURPOSE_LOGIN,
            channel=destination.channel,
            destination=destination.address,
            code_hash=hash_code(
                state, purpose=PURPOSE_LOGIN, destination=destination.address, code=code
            ),
            attempts=0,
            max_attempts=settings.otp_max_attempts,
            expires_at=now + timedelta(minutes=settings.otp_ttl_minutes),
            created_at=now,
        )
    )
    await session.flush()
    return _message(user, destination, code, settings.otp_ttl_minutes)


async def verify_login_code(
    session: AsyncSession, state: AppState, *, destination: Destination, code: str
) -> User:
    """Spend a login code: the account on success, else 401 (a wrong try is counted and kept)."""
    now = utcnow()
    otp = (
        await session.execute(
            select(OtpCode)
            .where(
                OtpCode.purpose == PURPOSE_LOGIN,
                OtpCode.destination == destination.address,
                OtpCode.consumed_at.is_(None),
            )
            .order_by(OtpCode.created_at.desc(), OtpCode.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    given = hash_code(state, purpose=PURPOSE_LOGIN, destination=destination.address, code=code)
    if otp is None or otp.expires_at <= now or otp.attempts >= otp.max_attempts:
        raise Unauthorized(gettext(_INVALID), code="invalid_otp")
    # One atomic statement per try: concurrent verifies can neither exceed the allowed tries
    # nor spend the same code twice.
    live = (
        update(OtpCode)
        .where(
            OtpCode.id == otp.id,
            OtpCode.consumed_at.is_(None),
            OtpCode.attempts < OtpCode.max_attempts,
            OtpCode.expires_at > now,
        )
        .execution_options(synchronize_session=False)
    )
    if not constant_time_equals(given, otp.code_hash):
        await session.execute(live.values(attempts=OtpCode.attempts + 1))
        raise Unauthorized(gettext(_INVALID), code="invalid_otp", keep_changes=True)
    spent = await session.execute(live.values(attempts=OtpCode.attempts + 1, consumed_at=now))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise Unauthorized(gettext(_INVALID), code="invalid_otp")
    user = await session.get(User, otp.user_id) if otp.user_id else None
    if user is None or not user.is_active:
        raise Unauthorized(gettext(_INVALID), code="invalid_otp", keep_changes=True)
    user.last_login_at = now
    if destination.channel == "email" and user.email_verified_at is None:
        user.email_verified_at = now
    return user
