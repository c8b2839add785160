"""A database outage answers 503 with Retry-After (readiness and API calls), and the service
recovers by itself once the database is back: against a private PostgreSQL server of the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from kerops.core.enums import UserRole
from kerops.core.errors import DATABASE_RETRY_AFTER_SECONDS
from kerops.core.migrate import upgrade
from kerops.main import create_app
from tests.conftest import make_settings, run_in_app
from tests.fixtures.factories import Account, make_user
from tests.fixtures.private_postgres import PrivatePostgres, missing_binaries, private_postgres

API = "/api/v1"


@pytest.fixture
def server() -> Iterator[PrivatePostgres]:
    reason = missing_binaries()
    if reason:
        pytest.skip(reason)
    with private_postgres() as started:
        yield started


@pytest.fixture
def client(
    server: PrivatePostgres, tmp_path: Path, settings_overrides: dict[str, Any]
) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, server.url, **settings_overrides)
    upgrade(settings)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def assert_database_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "database_unavailable" and problem["status"] == 503


def assert_not_ready(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(DATABASE_RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["status"] == "not_ready" and body["database"] == "unreachable"


def calls(client: TestClient, owner: Account, locale_id: str) -> dict[str, Any]:
    """One call of each kind: a list (session), a lean read (straight to the driver), a write."""
    return {
        "list": client.get(f"{API}/locales", headers=owner.headers),
        "read": client.get(f"{API}/locales/{locale_id}", headers=owner.headers),
        "write": client.post(f"{API}/locales", json={"name": "Otra"}, headers=owner.headers),
    }


def test_an_outage_answers_503_with_retry_after_and_the_service_recovers(
    client: TestClient, server: PrivatePostgres
) -> None:
    owner = make_user(client, run_in_app(client), role=UserRole.client_owner)
    created = client.post(f"{API}/locales", json={"name": "Planta"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    locale_id = created.json()["id"]
    assert client.get(f"{API}/ready").status_code == 200

    server.stop()
    assert_not_ready(client.get(f"{API}/ready"))  # its pooled connection was ended
    for answer in calls(client, owner, locale_id).values():
        assert_database_unavailable(answer)
    # A second round finds no connection to reuse: each is refused when it is opened.
    assert_not_ready(client.get(f"{API}/ready"))
    assert_database_unavailable(client.get(f"{API}/locales/{locale_id}", headers=owner.headers))

    server.start()
    ready = client.get(f"{API}/ready")
    assert ready.status_code == 200, ready.text
    assert "retry-after" not in ready.headers
    answers = calls(client, owner, locale_id)
    assert answers["list"].status_code == 200, answers["list"].text
    assert answers["read"].status_code == 200, answers["read"].text
    assert answers["write"].status_code == 201, answers["write"].text


@pytest.mark.parametrize("settings_overrides", [{"principal_cache_seconds": 300}])
@pytest.mark.parametrize("first", ["read", "list"])
def test_the_first_call_to_find_the_connection_lost_drops_every_pooled_one(
    client: TestClient, server: PrivatePostgres, first: str
) -> None:
    # "read": a lean read, straight to the driver; "list": a statement of a request session.
    owner = make_user(client, run_in_app(client), role=UserRole.client_owner)
    created = client.post(f"{API}/locales", json={"name": "Planta"}, headers=owner.headers)
    locale_id = created.json()["id"]
    # The caller is cached now: the call below goes straight to a pooled connection.
    assert client.get(f"{API}/locales/{locale_id}", headers=owner.headers).status_code == 200
    engine = client.app.state.kerops.db.engine  # type: ignore[attr-defined]

    async def pool_two_connections() -> None:
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(text("SELECT 1"))
            await second.execute(text("SELECT 1"))

    client.portal.call(pool_two_connections)  # type: ignore[union-attr]
    server.stop()
    path = f"{API}/locales/{locale_id}" if first == "read" else f"{API}/locales"
    assert_database_unavailable(client.get(path, headers=owner.headers))
    server.start()
    # The other pooled connection the outage ended was dropped too: nothing fails after it.
    answers = calls(client, owner, locale_id)
    assert [a.status_code for a in answers.values()] == [200, 200, 201]
