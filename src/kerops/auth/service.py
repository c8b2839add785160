"""Account sign-up and password login."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import SubscriptionPlan, UserRole
from kerops.core.errors import Conflict, Unauthorized
from kerops.core.i18n import gettext
from kerops.core.state import AppState
from kerops.core.types import utcnow, uuid7
from kerops.users import clients
from kerops.users.models import User
from kerops.users.passwords import validate_password
from kerops.users.service import find_user_by_email, normalise_email


async def register_client_owner(
    session: AsyncSession, state: AppState, *, email: str, password: str, full_name: str
) -> User:
    """Create a client account (its owner) on the free plan, with its default workflow."""
    email = normalise_email(email)
    validate_password(password, email)
    if await find_user_by_email(session, email) is not None:
        raise Conflict(gettext("An account with this email already exists."), code="email_taken")
    user_id = uuid7()
    client = clients.new_client(session, user_id, full_name, SubscriptionPlan.free)
    await session.flush()  # the client's row first: its owner's row points at it
    user = User(
        id=user_id,
        email=email,
        full_name=full_name,
        password_hash=state.security.hash_password(password),
        role=UserRole.client_owner,
        client_id=client.id,
    )
    session.add(user)
    await session.flush()
    await clients.set_up_new_client(session, user.id)  # its default workflow (operations)
    return user


async def authenticate(session: AsyncSession, state: AppState, email: str, password: str) -> User:
    """Check email and password; the same 401 whatever was wrong."""
    user = await find_user_by_email(session, email)
    ok = state.security.verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        raise Unauthorized(gettext("Incorrect email or password."), code="invalid_credentials")
    user.last_login_at = utcnow()
    return user
