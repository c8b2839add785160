"""Isolation cases of the one-time-code login and API-key routes."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.api_keys import new_key
from kerops.auth.models import ApiKey
from kerops.core.security import hash_token
from kerops.core.types import utcnow, uuid7
from tests.isolation import Case, World, public

P = "/api/v1"

PUBLIC = {
    ("POST", f"{P}/auth/otp/request"): public(
        "sends a code only to the account's own email or phone; the answer is the same for "
        "every address"
    ),
    ("POST", f"{P}/auth/otp/verify"): public("a code sent to the account is its own credential"),
}


def a_key_id(w: World) -> uuid.UUID:
    """An API key of client A's owner, created once per world.

    It is inserted with a Core statement (no audit row): cases are aimed while the harness is
    already counting A's audit rows, and the key must exist before any outsider is tried.
    """

    def make() -> uuid.UUID:
        key, prefix = new_key()
        new_id: uuid.UUID = uuid7()

        async def insert_key(session: AsyncSession) -> None:
            await session.execute(
                insert(ApiKey).values(
                    id=new_id,
                    user_id=w.a_owner.id,
                    client_id=w.a_owner.client_id,
                    name="A integration",
                    prefix=prefix,
                    key_hash=hash_token(key),
                    scopes=["read", "write", "admin"],
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )

        w.run(insert_key)
        w.remember(new_id, prefix, key)
        return new_id

    key_id: uuid.UUID = w.once("a_api_key", make)
    return key_id


CASES = {
    # Creates a key of the caller's own, never one of A's (checked: A's ids never appear and
    # A's audit trail is untouched).
    ("POST", f"{P}/api-keys"): Case(
        body=lambda w: {"name": "outsider key", "scopes": ["read"]},
        expect=frozenset({201}),
    ),
    ("GET", f"{P}/api-keys"): Case(
        kind="list", query=lambda w: {"user_id": str(w.a_owner.id)} if a_key_id(w) else {}
    ),
    ("GET", f"{P}/api-keys/{{key_id}}"): Case(params=lambda w: {"key_id": a_key_id(w)}),
    ("DELETE", f"{P}/api-keys/{{key_id}}"): Case(params=lambda w: {"key_id": a_key_id(w)}),
}
