"""Identity provider administration: who configures which provider, validation, secrecy."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.auth.models import ApiKey, IdentityProvider
from kerops.core.enums import UserRole
from kerops.core.security import hash_token
from tests.fixtures.factories import (
    Account,
    Runner,
    make_staff,
    make_user,
    make_vendor,
    register_owner,
)

URL = "/api/v1/identity-providers"
SECRET = "s3cret-value-" + "x" * 20


def body(**fields: Any) -> dict[str, Any]:
    """A valid create body (an https issuer), with changes."""
    values: dict[str, Any] = {
        "slug": "idp-" + uuid.uuid4().hex[:8],
        "name": "Acme SSO",
        "issuer": "https://login.acme.cl",
        "oidc_client_id": "kerops-app",
        "client_secret": SECRET,
    }
    values.update(fields)
    return values


def create(client: TestClient, admin: Account, **fields: Any) -> dict[str, Any]:
    response = client.post(URL, json=body(**fields), headers=admin.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stored(run: Runner, provider_id: str) -> IdentityProvider:
    async def load(session: AsyncSession) -> IdentityProvider:
        return await session.get_one(IdentityProvider, uuid.UUID(provider_id))

    result: IdentityProvider = run(load)
    return result


def error_locs(response: Any) -> list[list[Any]]:
    return [e["loc"] for e in response.json().get("errors", [])]


# --- creating ------------------------------------------------------------------------------


def test_owner_creates_provider_of_own_client(client: TestClient) -> None:
    owner = register_owner(client)

    response = client.post(URL, json=body(), headers=owner.headers)

    assert response.status_code == 201
    created = response.json()
    assert created["client_id"] == str(owner.client_id) and created["vendor_id"] is None
    assert created["has_client_secret"] is True
    assert created["scopes"] == "openid email profile"
    assert created["allowed_domains"] == [] and created["auto_provision"] is False
    assert created["is_active"] is True
    assert created["callback_path"] == f"/api/v1/auth/sso/{created['slug']}/callback"
    assert "client_secret" not in created and "client_secret_encrypted" not in created
    assert SECRET not in response.text


def test_owner_may_name_own_client(client: TestClient) -> None:
    owner = register_owner(client)

    created = create(client, owner, client_id=str(owner.client_id))

    assert created["client_id"] == str(owner.client_id)


def test_client_secret_is_stored_encrypted(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    created = create(client, owner)

    row = stored(run, created["id"])

    assert row.client_secret_encrypted != SECRET and SECRET not in row.client_secret_encrypted
    security = client.app.state.kerops.security  # type: ignore[attr-defined]
    assert security.decrypt(row.client_secret_encrypted) == SECRET


def test_client_secret_is_redacted_in_the_audit_log(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    created = create(client, owner)
    rotated = "rotated-" + "y" * 24
    client.patch(f"{URL}/{created['id']}", json={"client_secret": rotated}, headers=owner.headers)
    ciphertext = stored(run, created["id"]).client_secret_encrypted

    async def rows(session: AsyncSession) -> list[AuditLog]:
        stmt = select(AuditLog).where(
            AuditLog.table_name == "identity_providers", AuditLog.record_id == created["id"]
        )
        return list((await session.execute(stmt.order_by(AuditLog.id))).scalars())

    create_row, update_row = run(rows)

    assert create_row.action == "create" and update_row.action == "update"
    assert create_row.changes["client_secret_encrypted"]["after"] == "[redacted]"
    assert update_row.changes["client_secret_encrypted"] == {
        "before": "[redacted]",
        "after": "[redacted]",
    }
    assert create_row.client_id == owner.client_id
    dumped = json.dumps([create_row.changes, update_row.changes])
    assert SECRET not in dumped and rotated not in dumped and ciphertext not in dumped


def test_slug_is_unique_across_clients(client: TestClient) -> None:
    first = register_owner(client)
    second = register_owner(client)
    created = create(client, first)

    response = client.post(URL, json=body(slug=created["slug"]), headers=second.headers)

    assert response.status_code == 409
    assert response.json()["code"] == "slug_taken"


@pytest.mark.parametrize("slug", ["Acme", "-acme", "a", "acme sso", "acme_sso", "a" * 64, "ñandu"])
def test_invalid_slug_is_422(client: TestClient, slug: str) -> None:
    owner = register_owner(client)

    response = client.post(URL, json=body(slug=slug), headers=owner.headers)

    assert response.status_code == 422
    assert ["body", "slug"] in error_locs(response)


def test_http_issuer_is_refused_by_default(client: TestClient) -> None:
    owner = register_owner(client)

    response = client.post(URL, json=body(issuer="http://login.acme.cl"), headers=owner.headers)

    assert response.status_code == 422
    assert error_locs(response) == [["body", "issuer"]]


@pytest.mark.parametrize("settings_overrides", [{"sso_allow_insecure_http": True}])
def test_http_issuer_is_allowed_when_configured(client: TestClient) -> None:
    owner = register_owner(client)

    created = create(client, owner, issuer="http://127.0.0.1:8080/realms/acme")

    assert created["issuer"] == "http://127.0.0.1:8080/realms/acme"


@pytest.mark.parametrize(
    "issuer",
    [
        "not a url",
        "login.acme.cl",
        "ftp://login.acme.cl",
        "https://login.acme.cl/?tenant=1",
        "https://login.acme.cl/#x",
        "https://user:pw@login.acme.cl",
        "https://login.acme.cl:99999",
        "https://",
    ],
)
def test_issuer_must_be_a_plain_url(client: TestClient, issuer: str) -> None:
    owner = register_owner(client)

    response = client.post(URL, json=body(issuer=issuer), headers=owner.headers)

    assert response.status_code == 422
    assert ["body", "issuer"] in error_locs(response)


def test_allowed_domains_are_lower_cased_and_deduplicated(client: TestClient) -> None:
    owner = register_owner(client)

    created = create(client, owner, allowed_domains=["ACME.cl", "acme.cl", " Sub.Acme.CL "])

    assert created["allowed_domains"] == ["acme.cl", "sub.acme.cl"]


@pytest.mark.parametrize("domain", ["acme", "-acme.cl", "acme..cl", "ac me.cl", "@acme.cl", ""])
def test_invalid_allowed_domain_is_422(client: TestClient, domain: str) -> None:
    owner = register_owner(client)

    response = client.post(URL, json=body(allowed_domains=[domain]), headers=owner.headers)

    assert response.status_code == 422
    assert ["body", "allowed_domains"] in error_locs(response)


@pytest.mark.parametrize("scopes", ["email profile", "openid profile", 'openid "email"'])
def test_scopes_must_request_openid_and_email(client: TestClient, scopes: str) -> None:
    owner = register_owner(client)

    response = client.post(URL, json=body(scopes=scopes), headers=owner.headers)

    assert response.status_code == 422
    assert ["body", "scopes"] in error_locs(response)


def test_scopes_are_normalised(client: TestClient) -> None:
    owner = register_owner(client)

    created = create(client, owner, scopes="  openid   email openid groups ")

    assert created["scopes"] == "openid email groups"


def test_unknown_fields_are_refused(client: TestClient) -> None:
    owner = register_owner(client)

    response = client.post(URL, json=body(client_secret_encrypted="x"), headers=owner.headers)

    assert response.status_code == 422


def test_overlong_secret_is_422_without_echoing_it(client: TestClient) -> None:
    owner = register_owner(client)
    secret = "z" * 600

    response = client.post(URL, json=body(client_secret=secret), headers=owner.headers)

    assert response.status_code == 422
    assert secret not in response.text


# --- whose provider ------------------------------------------------------------------------


def test_owner_naming_another_client_is_404(client: TestClient) -> None:
    owner = register_owner(client)
    other = register_owner(client)

    response = client.post(URL, json=body(client_id=str(other.client_id)), headers=owner.headers)

    assert response.status_code == 404


def test_owner_naming_a_vendor_is_refused(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    own_vendor = make_vendor(run, owner.client_id, "Propio Ltda")
    foreign_vendor = make_vendor(run, None, "Ajeno SpA")

    own = client.post(URL, json=body(vendor_id=str(own_vendor)), headers=owner.headers)
    foreign = client.post(URL, json=body(vendor_id=str(foreign_vendor)), headers=owner.headers)

    assert own.status_code == 422
    assert foreign.status_code == 404


def test_vendor_admin_creates_provider_of_own_vendor(client: TestClient, run: Runner) -> None:
    vendor_id = make_vendor(run, None)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor_id)

    created = create(client, admin)

    assert created["vendor_id"] == str(vendor_id) and created["client_id"] is None


def test_vendor_admin_naming_another_vendor_or_a_client_is_404(
    client: TestClient, run: Runner
) -> None:
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run, None))
    owner = register_owner(client)
    other_vendor = make_vendor(run, None, "Otro SpA")

    for extra in ({"vendor_id": str(other_vendor)}, {"client_id": str(owner.client_id)}):
        response = client.post(URL, json=body(**extra), headers=admin.headers)
        assert response.status_code == 404, extra


def test_staff_creates_platform_client_and_vendor_providers(
    client: TestClient, run: Runner
) -> None:
    staff = make_staff(client, run)
    owner = register_owner(client)
    vendor_id = make_vendor(run, None)

    platform = create(client, staff)
    of_client = create(client, staff, client_id=str(owner.client_id), auto_provision=True)
    of_vendor = create(client, staff, vendor_id=str(vendor_id))

    assert (platform["client_id"], platform["vendor_id"]) == (None, None)
    assert of_client["client_id"] == str(owner.client_id)
    assert of_vendor["vendor_id"] == str(vendor_id)
    listed = client.get(URL, headers=owner.headers).json()["items"]
    assert [p["id"] for p in listed] == [of_client["id"]]


def test_staff_must_name_a_real_client_and_only_one_owner(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    owner = register_owner(client)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    vendor_id = make_vendor(run, None)

    not_a_client = client.post(URL, json=body(client_id=str(member.id)), headers=staff.headers)
    unknown = client.post(URL, json=body(client_id=str(uuid.uuid4())), headers=staff.headers)
    both = client.post(
        URL,
        json=body(client_id=str(owner.client_id), vendor_id=str(vendor_id)),
        headers=staff.headers,
    )

    assert not_a_client.status_code == 422
    assert unknown.status_code == 404
    assert both.status_code == 422


def test_platform_provider_cannot_auto_provision(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)

    refused = client.post(URL, json=body(auto_provision=True), headers=staff.headers)
    created = create(client, staff)
    patched = client.patch(
        f"{URL}/{created['id']}", json={"auto_provision": True}, headers=staff.headers
    )

    assert refused.status_code == 422
    assert patched.status_code == 422


@pytest.mark.parametrize("role", [UserRole.client_member, UserRole.technician])
def test_members_and_technicians_cannot_manage_providers(
    client: TestClient, run: Runner, role: UserRole
) -> None:
    owner = register_owner(client)
    created = create(client, owner)
    someone = make_user(client, run, role=role, client_id=owner.client_id)

    assert client.post(URL, json=body(), headers=someone.headers).status_code == 403
    assert client.get(URL, headers=someone.headers).status_code == 403
    assert client.get(f"{URL}/{created['id']}", headers=someone.headers).status_code in (403, 404)
    patched = client.patch(f"{URL}/{created['id']}", json={"name": "x"}, headers=someone.headers)
    assert patched.status_code in (403, 404)


def test_api_key_needs_the_admin_scope(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    key = "kro_testkey1_" + uuid.uuid4().hex

    async def add_key(session: AsyncSession) -> None:
        session.add(
            ApiKey(
                user_id=owner.id,
                client_id=owner.client_id,
                name="integration",
                prefix="kro_testkey1",
                key_hash=hash_token(key),
                scopes=["read", "write"],
            )
        )

    run(add_key)

    response = client.get(URL, headers={"X-API-Key": key})

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


# --- reading, listing, changing, removing --------------------------------------------------


def test_list_shows_own_providers_only_and_pages(client: TestClient) -> None:
    owner = register_owner(client)
    other = register_owner(client)
    mine = [create(client, owner)["id"] for _ in range(3)]
    create(client, other)

    first = client.get(URL, params={"limit": 2}, headers=owner.headers).json()
    second = client.get(
        URL, params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers
    ).json()

    assert [p["id"] for p in first["items"] + second["items"]] == mine
    assert second["next_cursor"] is None


def test_list_filters_by_active_and_sorts_by_slug(client: TestClient) -> None:
    owner = register_owner(client)
    active = create(client, owner, slug="zeta-" + uuid.uuid4().hex[:6])
    create(client, owner, slug="alfa-" + uuid.uuid4().hex[:6], is_active=False)

    only_active = client.get(URL, params={"is_active": True}, headers=owner.headers).json()
    by_slug = client.get(URL, params={"sort": "slug"}, headers=owner.headers).json()

    assert [p["id"] for p in only_active["items"]] == [active["id"]]
    assert by_slug["items"][0]["slug"].startswith("alfa-")


def test_another_client_cannot_read_change_or_delete(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    other = register_owner(client)
    created = create(client, owner)
    item = f"{URL}/{created['id']}"

    assert client.get(item, headers=other.headers).status_code == 404
    assert client.patch(item, json={"name": "x"}, headers=other.headers).status_code == 404
    assert client.delete(item, headers=other.headers).status_code == 404
    assert stored(run, created["id"]).name == "Acme SSO"


def test_update_changes_fields_and_replaces_the_secret(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    created = create(client, owner)

    response = client.patch(
        f"{URL}/{created['id']}",
        json={
            "name": "Acme Azure",
            "allowed_domains": ["Acme.CL"],
            "auto_provision": True,
            "client_secret": "brand-new-secret",
        },
        headers=owner.headers,
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "Acme Azure" and updated["allowed_domains"] == ["acme.cl"]
    assert updated["auto_provision"] is True and updated["has_client_secret"] is True
    assert updated["slug"] == created["slug"] and updated["issuer"] == created["issuer"]
    security = client.app.state.kerops.security  # type: ignore[attr-defined]
    assert security.decrypt(stored(run, created["id"]).client_secret_encrypted) == (
        "brand-new-secret"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"client_secret": None},
        {"client_id": str(uuid.uuid4())},
        {"issuer": "http://login.acme.cl"},
        {"slug": "Not A Slug"},
    ],
    ids=["null-name", "null-secret", "owner", "http-issuer", "bad-slug"],
)
def test_invalid_update_is_422(client: TestClient, change: dict[str, Any]) -> None:
    owner = register_owner(client)
    created = create(client, owner)

    response = client.patch(f"{URL}/{created['id']}", json=change, headers=owner.headers)

    assert response.status_code == 422, response.text


def test_update_to_a_taken_slug_is_409(client: TestClient) -> None:
    owner = register_owner(client)
    first = create(client, owner)
    second = create(client, owner)

    response = client.patch(
        f"{URL}/{second['id']}", json={"slug": first["slug"]}, headers=owner.headers
    )
    same = client.patch(f"{URL}/{first['id']}", json={"slug": first["slug"]}, headers=owner.headers)

    assert response.status_code == 409
    assert same.status_code == 200


def test_delete_removes_the_provider_and_its_login(client: TestClient) -> None:
    owner = register_owner(client)
    created = create(client, owner)

    response = client.delete(f"{URL}/{created['id']}", headers=owner.headers)

    assert response.status_code == 204
    assert client.get(f"{URL}/{created['id']}", headers=owner.headers).status_code == 404
    login = client.get(f"/api/v1/auth/sso/{created['slug']}/login", follow_redirects=False)
    assert login.status_code == 404


def test_vendor_admin_sees_only_own_vendor_providers(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    create(client, owner)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run, None))
    mine = create(client, admin)

    listed = client.get(URL, headers=admin.headers).json()["items"]

    assert [p["id"] for p in listed] == [mine["id"]]


@pytest.mark.parametrize(
    "issuer",
    [
        "https://127.0.0.1/realms/acme",
        "https://localhost:8443",
        "https://10.0.0.5",
        "https://169.254.169.254/latest",
        "https://[::1]/oidc",
        "https://idp.corp.local",
    ],
)
def test_internal_network_issuers_are_refused(client: TestClient, issuer: str) -> None:
    owner = register_owner(client)
    response = client.post(
        "/api/v1/identity-providers",
        json={
            "slug": "internal-idp",
            "name": "Internal",
            "issuer": issuer,
            "oidc_client_id": "kerops",
            "client_secret": "s3cret-value",
        },
        headers=owner.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "issuer"]
