"""Security headers on every answer (errors and 500s included), no Server banner, and CORS only
for the origins of KEROPS_CORS_ORIGINS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from pydantic import ValidationError

from kerops.config import Settings
from kerops.core.enums import UserRole
from kerops.main import create_app
from tests.fixtures.factories import Runner, make_user

API = "/api/v1"
ALLOWED = "https://app.example.com"
FOREIGN = "https://evil.example.net"


def assert_security_headers(response: Any, *, policy: str = "default-src 'none'") -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert policy in headers["content-security-policy"]
    assert "server" not in headers


@pytest.fixture
def own_app(settings: Settings) -> Iterator[TestClient]:
    """An app of its own with routes of this test module: a failure, a cacheable answer, and
    an answer naming a server."""
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    @app.get("/cacheable")
    async def cacheable() -> Response:
        return Response("public", headers={"Cache-Control": "public, max-age=60"})

    @app.get("/named")
    async def named() -> Response:
        return Response("named", headers={"Server": "kerops/1.0"})

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_success_carries_the_security_headers(client: TestClient) -> None:
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{API}/nothing-here", 404),
        ("POST", f"{API}/auth/login", 422),
        ("DELETE", f"{API}/health", 405),
        ("GET", f"{API}/auth/me", 401),
    ],
)
def test_an_error_carries_the_security_headers(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == status, response.text
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 1024}])
def test_a_payload_too_large_carries_the_security_headers(client: TestClient) -> None:
    response = client.post(f"{API}/auth/login", content=b"x" * 2048)
    assert response.status_code == 413
    assert_security_headers(response)


def test_an_unhandled_error_carries_the_security_headers_and_the_request_id(
    own_app: TestClient,
) -> None:
    response = own_app.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"] == "boom-1"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_docs_load_only_their_own_assets_and_are_not_framed(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "http" not in policy
    assert_security_headers(response, policy="default-src 'none'")


def test_the_landing_page_loads_only_its_own_styles(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "style-src 'self'" in policy
    assert_security_headers(response, policy="default-src 'none'")


def test_an_authenticated_answer_is_never_stored(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner)
    response = client.get(f"{API}/locales", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert_security_headers(response)


def test_an_answer_keeps_its_own_caching_unless_the_request_had_credentials(
    own_app: TestClient,
) -> None:
    public = own_app.get("/cacheable")
    assert public.headers["cache-control"] == "public, max-age=60"
    for credentials in ({"Authorization": "Bearer x"}, {"X-API-Key": "kro_x_y"}):
        response = own_app.get("/cacheable", headers=credentials)
        assert response.headers["cache-control"] == "no-store"


def test_the_app_never_names_a_server(own_app: TestClient) -> None:
    response = own_app.get("/named")
    assert response.status_code == 200
    assert "server" not in response.headers


# --- CORS ----------------------------------------------------------------------------------------


def test_without_allowed_origins_there_are_no_cors_headers(client: TestClient) -> None:
    response = client.get(f"{API}/health", headers={"Origin": ALLOWED})
    assert not [h for h in response.headers if h.startswith("access-control-")]
    preflight = client.options(
        f"{API}/locales",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert not [h for h in preflight.headers if h.startswith("access-control-")]


@pytest.mark.parametrize("settings_overrides", [{"cors_origins": [ALLOWED]}])
def test_an_allowed_origin_gets_cors_headers_and_its_preflight(client: TestClient) -> None:
    response = client.get(f"{API}/health", headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    missing = client.get(f"{API}/nothing-here", headers={"Origin": ALLOWED})
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == ALLOWED
    preflight = client.options(
        f"{API}/locales",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key", "if-match", "if-none-match"} <= {
        h.strip() for h in allowed_headers.split(",")
    }
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "idempotent-replayed" in exposed
    assert_security_headers(preflight)


@pytest.mark.parametrize("settings_overrides", [{"cors_origins": [ALLOWED]}])
def test_a_foreign_origin_gets_no_cors_headers(client: TestClient) -> None:
    response = client.get(f"{API}/health", headers={"Origin": FOREIGN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        f"{API}/locales", headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_origins_are_read_as_a_list_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEROPS_CORS_ORIGINS", f"{ALLOWED}, http://localhost:5173")
    assert Settings().cors_origins == [ALLOWED, "http://localhost:5173"]
    monkeypatch.setenv("KEROPS_CORS_ORIGINS", f'["{ALLOWED}"]')
    assert Settings().cors_origins == [ALLOWED]
    monkeypatch.delenv("KEROPS_CORS_ORIGINS")
    assert Settings().cors_origins == []


@pytest.mark.parametrize("origin", ["*", "app.example.com", f"{ALLOWED}/", f"{ALLOWED}/app"])
def test_a_cors_origin_must_be_an_origin(origin: str) -> None:
    with pytest.raises(ValidationError):
        Settings(cors_origins=[origin])
