"""Isolation cases of the clients routes: a client's row and handing its ownership over."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ClientRole, UserRole
from kerops.core.types import utcnow, uuid7
from kerops.users.models import User
from tests.fixtures.factories import unique_email
from tests.isolation import Case, World

P = "/api/v1"
CLIENT = f"{P}/clients/{{client_id}}"


def a_admin(w: World) -> uuid.UUID:
    """An admin of client A (a valid new owner for A's owner), created once per world and
    remembered as A's; inserted with a Core statement (no audit row), as the harness is already
    counting A's audit rows when a case is aimed."""

    def make() -> uuid.UUID:
        user_id = uuid7()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(User).values(
                    id=user_id,
                    email=unique_email("a-admin"),
                    full_name="A admin",
                    role=UserRole.client_member,
                    client_role=ClientRole.admin,
                    client_id=w.a_owner.client_id,
                    skills=[],
                    is_active=True,
                    language="es-CL",
                    timezone="America/Santiago",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )

        w.run(create)
        w.remember(user_id)
        return user_id

    user_id: uuid.UUID = w.once("a_admin", make)
    return user_id


CASES = {
    ("GET", CLIENT): Case(params=lambda w: {"client_id": w.a_owner.client_id}),
    ("PATCH", CLIENT): Case(
        params=lambda w: {"client_id": w.a_owner.client_id}, body=lambda w: {"language": "en"}
    ),
    # Aimed at A with A's own admin: nobody but A's owner may hand A over.
    ("POST", f"{CLIENT}/transfer-ownership"): Case(
        params=lambda w: {"client_id": w.a_owner.client_id},
        body=lambda w: {"user_id": str(a_admin(w))},
    ),
}
