"""Isolation cases of the identity-provider and single sign-on routes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import IdentityProvider
from kerops.core.types import utcnow, uuid7
from tests.isolation import Case, World, public

P = "/api/v1"

PUBLIC = {
    ("GET", f"{P}/auth/sso/{{slug}}/login"): public(
        "starts a sign-in: reads only an active provider's public settings and redirects to it; "
        "no tenant data in the answer"
    ),
    ("GET", f"{P}/auth/sso/{{slug}}/callback"): public(
        "finishes a sign-in: the provider's signed ID token (checked against the state and nonce "
        "kept in this browser's session) is the credential, and only users of the provider's "
        "owner can be signed in"
    ),
}


def a_provider_id(w: World) -> uuid.UUID:
    """An identity provider of client A, created once per world.

    It is inserted with a Core statement (no audit row): cases are aimed while the harness is
    already counting A's audit rows, and the provider must exist before any outsider is tried.
    """

    def make() -> uuid.UUID:
        new_id: uuid.UUID = uuid7()
        slug = "a-sso-" + uuid.uuid4().hex[:8]
        security = w.client.app.state.kerops.security  # type: ignore[attr-defined]

        async def insert_provider(session: AsyncSession) -> None:
            await session.execute(
                insert(IdentityProvider).values(
                    id=new_id,
                    client_id=w.a_owner.client_id,
                    slug=slug,
                    name="A corporate SSO",
                    issuer="https://login.a-corp.example.com",
                    oidc_client_id="a-kerops",
                    client_secret_encrypted=security.encrypt("a-client-secret"),
                    scopes="openid email profile",
                    allowed_domains=["a-corp.example.com"],
                    auto_provision=True,
                    is_active=True,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )

        w.run(insert_provider)
        w.remember(new_id, slug, "a-kerops", "login.a-corp.example.com")
        return new_id

    provider_id: uuid.UUID = w.once("a_identity_provider", make)
    return provider_id


def _provider(w: World) -> dict[str, Any]:
    return {"provider_id": a_provider_id(w)}


def _exists_no_params(w: World) -> dict[str, Any]:
    a_provider_id(w)
    return {}


def _create_for_a(w: World) -> dict[str, Any]:
    return {
        "client_id": str(w.a_owner.client_id),
        "slug": "x-" + uuid.uuid4().hex[:10],
        "name": "Hijack",
        "issuer": "https://login.attacker.example.com",
        "oidc_client_id": "x",
        "client_secret": "x-secret",
        "auto_provision": True,
    }


CASES = {
    # Naming A's client in the body: 404 for other admins, 403 for everyone else.
    ("POST", f"{P}/identity-providers"): Case(params=_exists_no_params, body=_create_for_a),
    # Lists: other admins see their own (none of A's), others get 403.
    ("GET", f"{P}/identity-providers"): Case(
        kind="list",
        params=_exists_no_params,
        query=lambda w: {"client_id": str(w.a_owner.client_id)},
    ),
    ("GET", f"{P}/identity-providers/{{provider_id}}"): Case(params=_provider),
    ("PATCH", f"{P}/identity-providers/{{provider_id}}"): Case(
        params=_provider, body=lambda w: {"issuer": "https://login.attacker.example.com"}
    ),
    ("DELETE", f"{P}/identity-providers/{{provider_id}}"): Case(params=_provider),
}
