"""A database outage answers 503 with Retry-After (readiness and API calls), and the service
recovers by itself once the database is back: against a private PostgreSQL server of the test,
and for SQLite a database file that cannot be opened or stays locked."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from kerops.core.enums import UserRole
from kerops.core.errors import DATABASE_RETRY_AFTER_SECONDS, is_database_unavailable
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
    """One call of each kind: a list through the reader (SQLAlchemy Core), one object through the
    reader (straight to the driver), a read through a request session, a write."""
    return {
        "list": client.get(f"{API}/locales", headers=owner.headers),
        "read": client.get(f"{API}/locales/{locale_id}", headers=owner.headers),
        "session": client.get(f"{API}/locales/{locale_id}/members", headers=owner.headers),
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
    assert answers["session"].status_code == 200, answers["session"].text
    assert answers["write"].status_code == 201, answers["write"].text


@pytest.mark.parametrize("settings_overrides", [{"principal_cache_seconds": 300}])
@pytest.mark.parametrize("first", ["read", "list", "session"])
def test_the_first_call_to_find_the_connection_lost_drops_every_pooled_one(
    client: TestClient, server: PrivatePostgres, first: str
) -> None:
    # "read": straight to the driver; "list": SQLAlchemy Core on a read connection; "session": a
    # statement of a request session.
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
    path = {
        "read": f"{API}/locales/{locale_id}",
        "list": f"{API}/locales",
        "session": f"{API}/locales/{locale_id}/members",
    }[first]
    assert_database_unavailable(client.get(path, headers=owner.headers))
    server.start()
    # The other pooled connection the outage ended was dropped too: nothing fails after it.
    answers = calls(client, owner, locale_id)
    assert [a.status_code for a in answers.values()] == [200, 200, 200, 201]


# --- SQLite ---------------------------------------------------------------------------------------


def test_a_sqlite_database_that_cannot_be_opened_answers_503(tmp_path: Path) -> None:
    (tmp_path / "kerops.sqlite3").mkdir()  # where the database file should be (a lost volume)
    settings = make_settings(tmp_path, None)
    with TestClient(create_app(settings)) as sqlite_client:
        assert_not_ready(sqlite_client.get(f"{API}/ready"))
        login = {"email": "someone@example.com", "password": "not-the-password-1"}
        assert_database_unavailable(sqlite_client.post(f"{API}/auth/login", json=login))


def test_a_sqlite_writer_still_locked_out_after_its_busy_timeout_is_unavailable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as locked:
            waiter.execute("BEGIN IMMEDIATE")
    finally:
        waiter.close()
        holder.close()
    assert is_database_unavailable(locked.value)
    assert is_database_unavailable(OperationalError("BEGIN IMMEDIATE", {}, locked.value))
    assert not is_database_unavailable(
        OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: nothing"))
    )
