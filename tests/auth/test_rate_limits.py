"""Brute force on password login is limited per account and per client address."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import PASSWORD, register_owner, unique_email

LOGIN = "/api/v1/auth/login"
REDIS_URL = os.environ.get("KEROPS_TEST_REDIS_URL", "")
ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 8


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Low limits, so a handful of requests reach them."""
    return {
        "login_rate_limit": f"{ACCOUNT_LIMIT}/minute",
        "login_ip_rate_limit": f"{ADDRESS_LIMIT}/minute",
    }


def _login(client: TestClient, email: str, password: str = "Wrong-Password-1") -> Any:
    return client.post(LOGIN, json={"email": email, "password": password})


def _assert_rate_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 429 and body["code"] == "rate_limited"
    assert body["retry_after"] >= 1 and body["request_id"]


def _check_per_account_limit(client: TestClient) -> None:
    owner = register_owner(client)
    # register_owner logged in once already: that counts as an attempt of the account
    for _ in range(ACCOUNT_LIMIT - 1):
        assert _login(client, owner.email).status_code == 401
    _assert_rate_limited(_login(client, owner.email))
    # even the right password waits until the window has passed
    _assert_rate_limited(_login(client, owner.email, PASSWORD))
    # the limit is per account: another account still logs in
    other = register_owner(client)
    assert _login(client, other.email, PASSWORD).status_code == 200


def test_failed_logins_are_limited_per_account(client: TestClient) -> None:
    _check_per_account_limit(client)


def test_the_account_limit_ignores_email_case(client: TestClient) -> None:
    owner = register_owner(client)
    for _ in range(ACCOUNT_LIMIT - 1):
        assert _login(client, owner.email.upper()).status_code == 401
    _assert_rate_limited(_login(client, owner.email))


def test_logins_are_limited_per_client_address(client: TestClient) -> None:
    # different accounts, all unknown, from one address
    for _ in range(ADDRESS_LIMIT):
        assert _login(client, unique_email("guess")).status_code == 401
    _assert_rate_limited(_login(client, unique_email("guess")))


def test_oauth2_token_form_shares_the_account_limit(client: TestClient) -> None:
    owner = register_owner(client)
    for _ in range(ACCOUNT_LIMIT - 1):
        assert _login(client, owner.email).status_code == 401
    response = client.post(
        "/api/v1/auth/token", data={"username": owner.email, "password": PASSWORD}
    )
    _assert_rate_limited(response)


@pytest.mark.skipif(
    not REDIS_URL,
    reason="set KEROPS_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to test the Redis storage",
)
@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "rate_limit_storage_url": REDIS_URL,
            "login_rate_limit": f"{ACCOUNT_LIMIT}/minute",
            # Runs sharing the Redis server share the test client's address: do not meet it.
            "login_ip_rate_limit": "100000/minute",
        }
    ],
)
def test_failed_logins_are_limited_per_account_in_redis(client: TestClient) -> None:
    limiter = client.app.state.kerops.limiter  # type: ignore[attr-defined]
    assert type(limiter.storage).__name__ == "RedisStorage"
    # every account is a fresh random email, so parallel runs never share a counter
    _check_per_account_limit(client)
