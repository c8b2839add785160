"""Single sign-on end to end: the app's TestClient against a real OIDC provider over HTTP."""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import IdentityProvider
from kerops.core.enums import SubscriptionPlan, UserRole
from kerops.users.models import User
from tests.fixtures.factories import (
    Account,
    Runner,
    make_staff,
    make_user,
    make_vendor,
    register_owner,
    unique_email,
)
from tests.fixtures.oidc_provider import OidcProvider, oidc_provider, oidc_server

__all__ = ["oidc_provider", "oidc_server"]  # fixtures used by the tests below

SSO = "/api/v1/auth/sso"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The test provider speaks plain http on 127.0.0.1."""
    return {"sso_allow_insecure_http": True}


def configure(
    client: TestClient, admin: Account, idp: OidcProvider, **fields: Any
) -> dict[str, Any]:
    """Configure an identity provider of the test OIDC provider through the API."""
    oidc_client_id, secret = idp.register_client()
    body = {
        "slug": "idp-" + uuid.uuid4().hex[:8],
        "name": "Acme SSO",
        "issuer": idp.issuer,
        "oidc_client_id": oidc_client_id,
        "client_secret": secret,
        **fields,
    }
    response = client.post("/api/v1/identity-providers", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()
    return provider


def start(client: TestClient, slug: str) -> httpx2.Response:
    """Call /login and follow its redirect to the provider (a real HTTP call, like a browser)."""
    login = client.get(f"{SSO}/{slug}/login", follow_redirects=False)
    assert login.status_code == 302, login.text
    with httpx2.Client(follow_redirects=False, trust_env=False) as browser:
        at_provider = browser.get(login.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return at_provider


def sign_in(client: TestClient, slug: str) -> httpx2.Response:
    """The whole flow: /login, the provider, then its redirect back to /callback."""
    back = start(client, slug).headers["location"]
    assert back.startswith(f"http://testserver{SSO}/{slug}/callback?"), back
    return client.get(back, follow_redirects=False)


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (``None``: removed)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def me(client: TestClient, tokens: dict[str, Any]) -> dict[str, Any]:
    response = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def user_by_email(run: Runner, email: str) -> User | None:
    async def load(session: AsyncSession) -> User | None:
        return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()

    result: User | None = run(load)
    return result


# --- the happy path -------------------------------------------------------------------------


def test_existing_member_signs_in_and_tokens_work(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(member.email.upper())

    response = sign_in(client, provider["slug"])

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]
    assert me(client, tokens)["id"] == str(member.id)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200


def test_login_redirects_to_the_provider_with_pkce_nonce_and_callback(
    client: TestClient, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider, scopes="openid email")

    login = client.get(f"{SSO}/{provider['slug']}/login", follow_redirects=False)

    assert login.status_code == 302
    location = urlsplit(login.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{oidc_provider.issuer}/authorize"
    )
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == provider["oidc_client_id"]
    assert query["redirect_uri"] == f"http://testserver{SSO}/{provider['slug']}/callback"
    assert query["scope"] == "openid email"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["state"] and query["nonce"]
    assert "kerops_sso" in login.cookies or "kerops_sso" in client.cookies


def test_token_request_authenticates_and_sends_pkce_verifier(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)

    assert sign_in(client, provider["slug"]).status_code == 200

    [request] = oidc_provider.token_requests
    assert request["client_id"] == provider["oidc_client_id"]
    assert request["verifier"]


def test_owner_signs_in_through_own_client_provider(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 200
    assert me(client, response.json())["id"] == str(owner.id)


def test_sign_in_records_last_login_and_verifies_email(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(member.email)

    assert sign_in(client, provider["slug"]).status_code == 200

    user = user_by_email(run, member.email)
    assert user is not None and user.email_verified_at is not None


def test_email_only_in_userinfo_is_used(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(member.email)
    oidc_provider.behaviour.email_in_id_token = False

    response = sign_in(client, provider["slug"])

    assert response.status_code == 200, response.text
    assert me(client, response.json())["id"] == str(member.id)


def test_allowed_domain_signs_in(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    email = f"ana.{uuid.uuid4().hex[:6]}@acme.cl"
    make_user(client, run, role=UserRole.client_member, client_id=owner.client_id, email=email)
    provider = configure(client, owner, oidc_provider, allowed_domains=["ACME.cl"])
    oidc_provider.sign_in_as(email)

    assert sign_in(client, provider["slug"]).status_code == 200


# --- who may sign in ------------------------------------------------------------------------


def test_wrong_email_domain_is_403(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, owner, oidc_provider, allowed_domains=["acme.cl"])
    oidc_provider.sign_in_as(member.email)  # @example.cl

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    assert response.json()["code"] == "sso_domain_not_allowed"


def test_unverified_email_is_403(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(member.email, email_verified=False)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    assert response.json()["code"] == "sso_email_unverified"


def test_missing_email_verified_claim_is_403(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(member.email)
    oidc_provider.behaviour.id_token_claims = {"email_verified": None}

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    assert response.json()["code"] == "sso_email_unverified"


def test_missing_email_is_403(client: TestClient, oidc_provider: OidcProvider) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider, auto_provision=True)
    oidc_provider.sign_in_as(None)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    assert response.json()["code"] == "sso_email_missing"


def test_unknown_email_without_auto_provision_is_403(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    email = unique_email("nuevo")
    oidc_provider.sign_in_as(email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    assert response.json()["code"] == "sso_account_not_allowed"
    assert user_by_email(run, email) is None


def test_auto_provision_creates_client_member_without_password(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider, auto_provision=True)
    email = unique_email("nuevo")
    oidc_provider.sign_in_as(email.upper(), name="Nueva Persona")

    response = sign_in(client, provider["slug"])

    assert response.status_code == 200, response.text
    profile = me(client, response.json())
    assert profile["email"] == email
    assert profile["role"] == "client_member"
    assert profile["client_id"] == str(owner.client_id)
    assert profile["vendor_id"] is None
    assert profile["full_name"] == "Nueva Persona"
    user = user_by_email(run, email)
    assert user is not None and user.password_hash is None
    assert user.email_verified_at is not None


def test_auto_provisioned_user_signs_in_again_as_the_same_user(
    client: TestClient, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider, auto_provision=True)
    oidc_provider.sign_in_as(unique_email("nuevo"))

    first = me(client, sign_in(client, provider["slug"]).json())
    second = me(client, sign_in(client, provider["slug"]).json())

    assert first["id"] == second["id"]


def test_auto_provision_respects_the_plan_user_limit(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)  # free plan: at most 5 users, the owner included
    for _ in range(4):
        make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, owner, oidc_provider, auto_provision=True)
    email = unique_email("sexto")
    oidc_provider.sign_in_as(email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "plan_limit_exceeded" and body["limit"] == "max_users"
    assert user_by_email(run, email) is None


def test_vendor_provider_auto_provisions_a_technician_of_the_vendor(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    vendor_id = make_vendor(run, None, "Climatización SpA")
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor_id)
    provider = configure(client, admin, oidc_provider, auto_provision=True)
    assert provider["vendor_id"] == str(vendor_id) and provider["client_id"] is None
    email = unique_email("tecnico")
    oidc_provider.sign_in_as(email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 200, response.text
    profile = me(client, response.json())
    assert profile["role"] == "technician"
    assert profile["vendor_id"] == str(vendor_id)
    assert profile["client_id"] is None


def test_user_of_another_client_with_that_email_is_refused(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    client_a = register_owner(client)
    client_b = register_owner(client)
    victim = make_user(client, run, role=UserRole.client_member, client_id=client_a.client_id)
    # Client B controls its own provider, which may claim any verified email.
    provider = configure(client, client_b, oidc_provider, auto_provision=True)
    oidc_provider.sign_in_as(victim.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    assert response.json()["code"] == "sso_account_not_allowed"
    assert "access_token" not in response.text
    user = user_by_email(run, victim.email)
    assert user is not None and user.client_id == client_a.client_id


def test_owner_of_another_client_is_refused(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    client_a = register_owner(client)
    client_b = register_owner(client)
    provider = configure(client, client_b, oidc_provider)
    oidc_provider.sign_in_as(client_a.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403


def test_vendor_provider_refuses_users_outside_the_vendor(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    vendor_id = make_vendor(run, None, "Eléctrica Ltda")
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor_id)
    provider = configure(client, admin, oidc_provider, auto_provision=True)
    oidc_provider.sign_in_as(owner.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403


def test_client_provider_never_signs_in_staff(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    staff = make_user(
        client,
        run,
        role=UserRole.super_admin,
        client_id=owner.client_id,
        plan=SubscriptionPlan.free,
    )
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(staff.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403


def test_platform_provider_signs_in_any_user(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    staff = make_staff(client, run)
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    provider = configure(client, staff, oidc_provider)
    assert provider["client_id"] is None and provider["vendor_id"] is None
    oidc_provider.sign_in_as(member.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 200
    assert me(client, response.json())["id"] == str(member.id)


def test_inactive_user_is_403(client: TestClient, run: Runner, oidc_provider: OidcProvider) -> None:
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)

    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == member.id).values(is_active=False))

    run(deactivate)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(member.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 403
    assert response.json()["code"] == "sso_account_inactive"


# --- providers that cannot be used ------------------------------------------------------------


def test_unknown_provider_is_404(client: TestClient) -> None:
    assert client.get(f"{SSO}/nope-nope/login", follow_redirects=False).status_code == 404
    assert client.get(f"{SSO}/nope-nope/callback?code=x&state=y").status_code == 404


def test_inactive_provider_is_404(client: TestClient, oidc_provider: OidcProvider) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider, is_active=False)

    response = client.get(f"{SSO}/{provider['slug']}/login", follow_redirects=False)

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_provider_deactivated_during_sign_in_is_404(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    back = start(client, provider["slug"]).headers["location"]
    client.patch(
        f"/api/v1/identity-providers/{provider['id']}",
        json={"is_active": False},
        headers=owner.headers,
    )

    assert client.get(back).status_code == 404


def test_unreachable_provider_is_502(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]

    async def create(session: AsyncSession) -> str:
        state = client.app.state.kerops  # type: ignore[attr-defined]
        provider = IdentityProvider(
            client_id=owner.client_id,
            slug="gone-" + uuid.uuid4().hex[:6],
            name="Gone",
            issuer=f"http://127.0.0.1:{closed_port}",
            oidc_client_id="x",
            client_secret_encrypted=state.security.encrypt("y"),
        )
        session.add(provider)
        slug: str = provider.slug
        return slug

    slug: str = run(create)
    response = client.get(f"{SSO}/{slug}/login", follow_redirects=False)

    assert response.status_code == 502
    assert response.json()["code"] == "sso_provider_unavailable"


def test_discovery_naming_another_issuer_is_refused(
    client: TestClient, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.behaviour.discovery_issuer = "https://elsewhere.example.com"

    response = client.get(f"{SSO}/{provider['slug']}/login", follow_redirects=False)

    assert response.status_code == 502
    assert response.json()["code"] == "sso_provider_misconfigured"


# --- a flow that was tampered with ------------------------------------------------------------


@pytest.mark.parametrize("state", ["tampered", None])
def test_tampered_or_missing_state_is_400(
    client: TestClient, oidc_provider: OidcProvider, state: str | None
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    back = start(client, provider["slug"]).headers["location"]

    response = client.get(with_query(back, state=state), follow_redirects=False)

    assert response.status_code == 400
    assert response.json()["code"] == "sso_state_mismatch"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_callback_without_the_session_cookie_is_400(
    client: TestClient, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    back = start(client, provider["slug"]).headers["location"]
    client.cookies.clear()  # another browser: the code alone must not sign anyone in

    response = client.get(back, follow_redirects=False)

    assert response.status_code == 400
    assert response.json()["code"] == "sso_state_mismatch"


def test_callback_cannot_be_replayed(client: TestClient, oidc_provider: OidcProvider) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    back = start(client, provider["slug"]).headers["location"]

    assert client.get(back).status_code == 200
    assert client.get(back).status_code == 400


def test_state_of_another_provider_is_refused(
    client: TestClient, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    first = configure(client, owner, oidc_provider)
    second = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    back = start(client, first["slug"]).headers["location"]

    response = client.get(back.replace(f"/{first['slug']}/", f"/{second['slug']}/"))

    assert response.status_code == 400


def test_bad_code_is_400(client: TestClient, oidc_provider: OidcProvider) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    back = start(client, provider["slug"]).headers["location"]

    response = client.get(with_query(back, code="forged"), follow_redirects=False)

    assert response.status_code == 400
    assert response.json()["code"] == "sso_failed"
    assert "invalid_grant" in response.json()["detail"]


def test_provider_refusal_is_400(client: TestClient, oidc_provider: OidcProvider) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.behaviour.deny = True
    back = start(client, provider["slug"]).headers["location"]

    response = client.get(back, follow_redirects=False)

    assert response.status_code == 400
    assert "access_denied" in response.json()["detail"]


def test_wrong_client_secret_is_400(
    client: TestClient, run: Runner, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    changed = client.patch(
        f"/api/v1/identity-providers/{provider['id']}",
        json={"client_secret": "not-the-secret"},
        headers=owner.headers,
    )
    assert changed.status_code == 200
    oidc_provider.sign_in_as(owner.email)

    response = sign_in(client, provider["slug"])

    assert response.status_code == 400
    assert "invalid_client" in response.json()["detail"]


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-client"},
        {"iss": "https://evil.example.com"},
        {"nonce": "replayed-nonce"},
        {"nonce": None},
        {"exp": int(time.time()) - 3600},
        {"sub": None},
    ],
    ids=["audience", "issuer", "nonce", "no-nonce", "expired", "no-subject"],
)
def test_id_token_with_bad_claims_is_400(
    client: TestClient, oidc_provider: OidcProvider, claims: dict[str, Any]
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    oidc_provider.behaviour.id_token_claims = claims

    response = sign_in(client, provider["slug"])

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "sso_invalid_id_token"


def test_id_token_signed_by_another_key_is_400(
    client: TestClient, oidc_provider: OidcProvider
) -> None:
    owner = register_owner(client)
    provider = configure(client, owner, oidc_provider)
    oidc_provider.sign_in_as(owner.email)
    oidc_provider.behaviour.sign_with_foreign_key = True

    response = sign_in(client, provider["slug"])

    assert response.status_code == 400
    assert response.json()["code"] == "sso_invalid_id_token"
