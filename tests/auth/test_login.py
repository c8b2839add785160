"""Sign-up, password login, refresh rotation with re-use detection, logout."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.factories import PASSWORD, login, register_owner, unique_email


def test_register_creates_free_client_owner(client: TestClient) -> None:
    email = unique_email()
    response = client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Ana"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "client_owner" and body["client_role"] is None
    assert body["client_id"] == body["id"]
    assert "password_hash" not in body


def test_register_refuses_duplicate_email(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.post(
        "/api/v1/auth/register",
        json={"email": owner.email.upper(), "password": PASSWORD, "full_name": "Dup"},
    )
    assert response.status_code == 409


def test_register_refuses_weak_passwords(client: TestClient) -> None:
    email = unique_email()
    for weak in ("short1A", "alllowercaseletters", email, "password123"):
        response = client.post(
            "/api/v1/auth/register", json={"email": email, "password": weak, "full_name": "W"}
        )
        assert response.status_code == 422, weak
        assert response.json()["errors"][0]["loc"] == ["body", "password"]


def test_register_refuses_unknown_fields(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={
            "email": unique_email(),
            "password": PASSWORD,
            "full_name": "X",
            "role": "super_admin",
        },
    )
    assert response.status_code == 422


def test_login_and_me(client: TestClient) -> None:
    owner = register_owner(client)
    assert owner.tokens["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers=owner.headers)
    assert me.status_code == 200 and me.json()["email"] == owner.email


def test_login_wrong_password_is_401(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": "Wrong-Password-1"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_oauth2_token_form_works(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.post(
        "/api/v1/auth/token", data={"username": owner.email, "password": PASSWORD}
    )
    assert response.status_code == 200 and response.json()["access_token"]


def test_me_without_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_garbage_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401


def test_refresh_rotates_and_old_token_reuse_revokes_family(client: TestClient) -> None:
    owner = register_owner(client)
    first = owner.tokens["refresh_token"]
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first
    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"
    # the whole family is revoked: the newer refresh token and its access token stop working
    assert (
        client.post(
            "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        ).status_code
        == 401
    )
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_logout_ends_session(client: TestClient) -> None:
    owner = register_owner(client)
    assert client.post("/api/v1/auth/logout", json={}, headers=owner.headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=owner.headers).status_code == 401
    refresh = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": owner.tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    # a new login still works
    assert login(client, owner.email)["access_token"]


def test_expired_access_token_is_refused(client: TestClient) -> None:
    from datetime import timedelta

    owner = register_owner(client)
    security = client.app.state.kerops.security  # type: ignore[attr-defined]
    token = security.encode_jwt({"sub": str(owner.id), "typ": "access"}, timedelta(seconds=-60))
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_refresh_token_is_not_an_access_token(client: TestClient) -> None:
    owner = register_owner(client)
    headers = {"Authorization": f"Bearer {owner.tokens['refresh_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_outsider_logout_with_someones_refresh_token_does_not_end_their_session(
    client: TestClient,
) -> None:
    victim = register_owner(client)
    outsider = register_owner(client)
    response = client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": victim.tokens["refresh_token"]},
        headers=outsider.headers,
    )
    assert response.status_code in (204, 401)
    # the victim's session is untouched: access and refresh tokens still work
    assert client.get("/api/v1/auth/me", headers=victim.headers).status_code == 200
    refreshed = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": victim.tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    # and the outsider's own session was not ended either
    assert client.get("/api/v1/auth/me", headers=outsider.headers).status_code == 200
