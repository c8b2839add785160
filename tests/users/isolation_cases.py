"""Isolation cases of the users and vendors routes."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import UserRole
from kerops.core.types import utcnow, uuid7
from kerops.users.models import User
from tests.fixtures.factories import unique_email
from tests.isolation import Case, World, public

P = "/api/v1"
USER = f"{P}/users/{{user_id}}"
VENDOR = f"{P}/vendors/{{vendor_id}}"

PUBLIC = {
    ("POST", f"{P}/users/invitations/accept"): public(
        "the one-time invitation token is its own credential; it only sets the invited "
        "account's password and logs that account in"
    ),
}


def a_vendor_technician(w: World) -> uuid.UUID:
    """A technician of A's private vendor, created once per world and remembered as A's.

    Inserted with a Core statement (no audit row): the harness is already counting A's audit
    rows when a case is aimed.
    """

    def make() -> uuid.UUID:
        user_id = uuid7()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(User).values(
                    id=user_id,
                    email=unique_email("a-vendor-tech"),
                    full_name="A vendor technician",
                    role=UserRole.technician,
                    vendor_id=w.a_vendor,
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

    user_id: uuid.UUID = w.once("a_vendor_technician", make)
    return user_id


def _no_params_but_make_a_vendor_technician(w: World) -> dict[str, uuid.UUID]:
    a_vendor_technician(w)
    return {}


def _a_vendor(w: World) -> dict[str, uuid.UUID]:
    a_vendor_technician(w)
    return {"vendor_id": w.a_vendor}


CASES = {
    # Lists: the caller's own people and the platform directory, never any of A's.
    ("GET", f"{P}/users"): Case(
        params=_no_params_but_make_a_vendor_technician,
        query=lambda w: {"limit": 200},
        kind="list",
    ),
    ("GET", USER): Case(params=lambda w: {"user_id": w.a_manager.id}),
    ("PATCH", USER): Case(
        params=lambda w: {"user_id": w.a_technician.id},
        body=lambda w: {"full_name": "Hijacked", "role": "client_member"},
    ),
    ("POST", f"{USER}/deactivate"): Case(params=lambda w: {"user_id": w.a_manager.id}),
    ("POST", f"{USER}/activate"): Case(params=lambda w: {"user_id": w.a_requester.id}),
    # Inviting someone into A's locale: a foreign locale_id in the body is a 404.
    ("POST", f"{P}/users/invite"): Case(
        body=lambda w: {
            "email": unique_email("intruder"),
            "full_name": "Intruder",
            "role": "client_member",
            "locale_id": str(w.a_locale),
            "local_role": "manager",
        },
    ),
    # Registering a private vendor for A's client.
    ("POST", f"{P}/vendors"): Case(
        body=lambda w: {
            "name": "Intruder SpA",
            "rut": "77.777.777-7",
            "client_id": str(w.a_owner.client_id),
        },
    ),
    ("GET", f"{P}/vendors"): Case(
        params=_no_params_but_make_a_vendor_technician,
        query=lambda w: {"limit": 200},
        kind="list",
    ),
    ("GET", VENDOR): Case(params=_a_vendor),
    ("PATCH", VENDOR): Case(
        params=_a_vendor, body=lambda w: {"name": "Hijacked", "is_active": False}
    ),
    ("DELETE", VENDOR): Case(params=lambda w: {"vendor_id": w.a_vendor}),
    ("GET", f"{VENDOR}/members"): Case(params=_a_vendor),
}
