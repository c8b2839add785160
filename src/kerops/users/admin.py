"""Creating platform staff accounts from the command line."""

from __future__ import annotations

from kerops.config import Settings
from kerops.core import row_scope
from kerops.core.audit import set_audit_context
from kerops.core.db import Database
from kerops.core.enums import UserRole
from kerops.core.principal import AuditContext
from kerops.core.security import Security
from kerops.users.models import User
from kerops.users.passwords import password_problems
from kerops.users.service import find_user_by_email, normalise_email


async def create_admin(settings: Settings, *, email: str, password: str, full_name: str) -> User:
    """Create a super admin; ValueError when the email is taken or the password weak."""
    problems = password_problems(password, email)
    if problems:
        raise ValueError("weak password: " + "; ".join(problems))
    db = Database(settings)
    # The operator at the console acts for the platform (``kerops.core.row_scope``).
    try:
        with row_scope.platform():
            async with db.sessions() as session:
                set_audit_context(session.sync_session, AuditContext(request_id="cli"))
                if await find_user_by_email(session, email) is not None:
                    raise ValueError(f"{email} already exists")
                user = User(
                    email=normalise_email(email),
                    full_name=full_name,
                    password_hash=Security(settings).hash_password(password),
                    role=UserRole.super_admin,
                )
                session.add(user)
                await session.commit()
                return user
    finally:
        await db.dispose()
