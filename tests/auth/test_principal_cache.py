"""Principals of access tokens reused for a few seconds: fewer reads, changes still take hold."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import principal as principal_module
from kerops.core.enums import UserRole
from kerops.core.principal import Principal, PrincipalCache
from kerops.users.models import User
from tests.conftest import USE_PG, QueryCounter, as_platform
from tests.fixtures.factories import login, make_user, register_owner


def _cache(client: TestClient) -> PrincipalCache:
    cache: PrincipalCache = client.app.state.kerops.db.principals  # type: ignore[attr-defined]
    return cache


def _statements(client: TestClient, queries: QueryCounter, path: str, headers: Any) -> int:
    with queries as counted:
        assert client.get(path, headers=headers).status_code == 200
    return counted.count


def test_a_second_request_with_the_same_token_reads_no_user_row(
    client: TestClient, queries: QueryCounter
) -> None:
    queries.on_enter = None  # keep what the first request cached
    owner = register_owner(client)
    # Through the request's session: the user row is one statement of its transaction.
    first = _statements(client, queries, "/api/v1/notifications/unread-count", owner.headers)
    second = _statements(client, queries, "/api/v1/notifications/unread-count", owner.headers)
    assert second == first - 1
    client.app.state.kerops.db.principals.clear()  # type: ignore[attr-defined]
    # Through the reader: a caller not cached is read in a short read session of its own (on
    # SQLite one more BEGIN), a cached one costs nothing.
    first = _statements(client, queries, "/api/v1/locales", owner.headers)
    second = _statements(client, queries, "/api/v1/locales", owner.headers)
    assert second == first - (1 if USE_PG else 2)
    # /auth/me needs the user's row itself: read by id when the principal came from the cache.
    me = client.get("/api/v1/auth/me", headers=owner.headers)
    assert me.status_code == 200 and me.json()["email"] == owner.email


@pytest.mark.parametrize("settings_overrides", [{"principal_cache_seconds": 0}])
def test_without_the_cache_every_request_reads_the_user(
    client: TestClient, queries: QueryCounter
) -> None:
    queries.on_enter = None
    owner = register_owner(client)
    first = _statements(client, queries, "/api/v1/locales", owner.headers)
    assert _statements(client, queries, "/api/v1/locales", owner.headers) == first
    assert len(_cache(client)) == 0


def test_logging_out_ends_the_token_at_once(client: TestClient) -> None:
    owner = register_owner(client)
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 200
    assert len(_cache(client)) == 1
    assert client.post("/api/v1/auth/logout", json={}, headers=owner.headers).status_code == 204
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 401


def test_deactivating_a_user_ends_their_access_at_once(client: TestClient, run: Any) -> None:
    owner = register_owner(client)
    staff = make_user(client, run, role=UserRole.super_admin)
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 200
    off = client.post(f"/api/v1/users/{owner.id}/deactivate", headers=staff.headers)
    assert off.status_code == 200, off.text
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 401


def test_a_role_change_applies_to_the_next_request(client: TestClient, run: Any) -> None:
    owner = register_owner(client)
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 200

    async def demote(session: AsyncSession) -> None:
        await session.execute(
            update(User).where(User.id == owner.id).values(role=UserRole.client_member)
        )

    run(demote)  # a bulk UPDATE through the app's sessions also empties the cache
    assert len(_cache(client)) == 0
    created = client.post(
        "/api/v1/locales",
        json={"name": "Sucursal", "address": "Av. Siempre Viva 1", "timezone": "America/Santiago"},
        headers=owner.headers,
    )
    assert created.status_code == 403


def test_a_change_made_elsewhere_is_seen_when_the_entry_expires(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(principal_module.time, "monotonic", lambda: now[0])
    owner = register_owner(client)
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 200
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def deactivate_elsewhere() -> None:
        # Not one of the app's sessions: like another process or plain SQL.
        async with AsyncSession(state.db.engine) as other:
            await other.execute(update(User).where(User.id == owner.id).values(is_active=False))
            await other.commit()

    client.portal.call(as_platform(deactivate_elsewhere))  # type: ignore[union-attr]
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 200
    now[0] += state.settings.principal_cache_seconds
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 401


def test_a_principal_read_before_a_change_is_not_kept() -> None:
    cache = PrincipalCache(5.0)
    someone = Principal(
        user_id=uuid.uuid4(), role=UserRole.client_owner, client_id=None, vendor_id=None
    )
    generation = cache.generation
    cache.clear()  # a change committed while the principal was being read
    cache.put(someone, generation=generation)
    assert cache.get(someone.user_id, None) is None
    cache.put(someone, generation=cache.generation)
    assert cache.get(someone.user_id, None) == someone


def test_entries_expire_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(principal_module.time, "monotonic", lambda: now[0])
    cache = PrincipalCache(5.0, max_entries=3)
    people = [
        Principal(user_id=uuid.uuid4(), role=UserRole.client_member, client_id=None, vendor_id=None)
        for _ in range(4)
    ]
    for person in people[:3]:
        cache.put(person, generation=cache.generation)
    assert len(cache) == 3
    cache.put(people[3], generation=cache.generation)  # full: starts over
    assert len(cache) == 1 and cache.get(people[3].user_id, None) == people[3]
    now[0] += 5.0
    assert cache.get(people[3].user_id, None) is None


def test_login_is_not_affected_by_a_cached_principal(client: TestClient) -> None:
    owner = register_owner(client)
    assert client.get("/api/v1/locales", headers=owner.headers).status_code == 200
    assert login(client, owner.email)["access_token"]
