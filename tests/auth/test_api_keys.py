"""API keys: shown once, hashed, scoped, expiring, revocable, acting as their owner."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.auth.models import ApiKey
from kerops.core.security import hash_token
from kerops.core.types import utcnow
from kerops.users.models import User
from tests.fixtures.factories import Account, Runner, register_owner

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"


def create_key(
    client: TestClient,
    account: Account,
    scopes: list[str] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Create a key through the API and return the answer (with the secret)."""
    body = {"name": "ERP sync", "scopes": scopes or ["read", "write"], **extra}
    response = client.post(KEYS, json=body, headers=headers or account.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _stored(run: Runner, key_id: str) -> ApiKey:
    async def load(session: AsyncSession) -> ApiKey:
        return (
            await session.execute(select(ApiKey).where(ApiKey.id == uuid.UUID(key_id)))
        ).scalar_one()

    result: ApiKey = run(load)
    return result


def _expire(run: Runner, key_id: str) -> None:
    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(key_id))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    run(expire)


def test_create_returns_the_key_once(client: TestClient) -> None:
    owner = register_owner(client)
    created = create_key(client, owner)
    key = created["key"]
    assert key.startswith(created["prefix"] + "_")
    assert created["prefix"].startswith("kro_") and len(created["prefix"]) == 12
    assert created["scopes"] == ["read", "write"] and created["name"] == "ERP sync"
    assert created["expires_at"] is None and created["created_at"]
    shown = client.get(f"{KEYS}/{created['id']}", headers=owner.headers)
    assert shown.status_code == 200
    assert "key" not in shown.json() and "key_hash" not in shown.json()
    assert key not in shown.text


def test_key_works_as_bearer_and_acts_as_its_owner(client: TestClient) -> None:
    owner = register_owner(client)
    key = create_key(client, owner)["key"]
    response = client.get(ME, headers=bearer(key))
    assert response.status_code == 200
    assert response.json()["id"] == str(owner.id)


def test_key_works_as_x_api_key_header(client: TestClient) -> None:
    owner = register_owner(client)
    key = create_key(client, owner)["key"]
    response = client.get(ME, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.json()["email"] == owner.email


def test_read_only_key_can_get_but_not_post(client: TestClient) -> None:
    owner = register_owner(client)
    key = create_key(client, owner, scopes=["read"])["key"]
    assert client.get(ME, headers=bearer(key)).status_code == 200
    response = client.post(KEYS, json={"name": "x", "scopes": ["read"]}, headers=bearer(key))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_managing_keys_through_a_key_needs_the_admin_scope(client: TestClient) -> None:
    owner = register_owner(client)
    plain = create_key(client, owner, scopes=["read", "write"])
    assert client.get(KEYS, headers=bearer(plain["key"])).status_code == 403
    response = client.delete(f"{KEYS}/{plain['id']}", headers=bearer(plain["key"]))
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"

    admin = create_key(client, owner, scopes=["read", "write", "admin"])
    assert client.get(KEYS, headers=bearer(admin["key"])).status_code == 200
    made = create_key(client, owner, scopes=["read"], headers=bearer(admin["key"]))
    assert client.get(ME, headers=bearer(made["key"])).json()["id"] == str(owner.id)


def test_a_key_cannot_mint_a_key_with_more_scopes(client: TestClient) -> None:
    owner = register_owner(client)
    limited = create_key(client, owner, scopes=["write", "admin"])
    response = client.post(
        KEYS, json={"name": "wider", "scopes": ["read", "write"]}, headers=bearer(limited["key"])
    )
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_revoked_key_is_401(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    created = create_key(client, owner)
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200
    assert client.delete(f"{KEYS}/{created['id']}", headers=owner.headers).status_code == 204
    response = client.get(ME, headers=bearer(created["key"]))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    # the row is kept, marked revoked
    stored = _stored(run, created["id"])
    assert stored.revoked_at is not None


def test_a_deleted_key_is_gone_from_reads_lists_and_deletes(
    client: TestClient, run: Runner
) -> None:
    owner = register_owner(client)
    kept = create_key(client, owner)
    deleted = create_key(client, owner)
    url = f"{KEYS}/{deleted['id']}"
    assert client.delete(url, headers=owner.headers).status_code == 204
    revoked_at = _stored(run, deleted["id"]).revoked_at
    read = client.get(url, headers=owner.headers)
    assert read.status_code == 404
    assert read.json()["code"] == "not_found"
    again = client.delete(url, headers=owner.headers)
    assert again.status_code == 404
    for active in (None, "true", "false"):
        params = {} if active is None else {"active": active}
        listed = client.get(KEYS, params=params, headers=owner.headers).json()["items"]
        assert deleted["id"] not in [k["id"] for k in listed]
    assert [k["id"] for k in client.get(KEYS, headers=owner.headers).json()["items"]] == [
        kept["id"]
    ]
    # the second delete changed nothing: the row keeps the first revocation's time
    assert revoked_at is not None
    assert _stored(run, deleted["id"]).revoked_at == revoked_at


def test_expired_key_is_401(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    created = create_key(client, owner, expires_at=soon)
    assert created["expires_at"] is not None
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200

    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == uuid.UUID(created["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    run(expire)
    assert client.get(ME, headers=bearer(created["key"])).status_code == 401


def test_expiry_must_be_future_and_timezone_aware(client: TestClient) -> None:
    owner = register_owner(client)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    for expires_at in (past, naive):
        response = client.post(
            KEYS,
            json={"name": "k", "scopes": ["read"], "expires_at": expires_at},
            headers=owner.headers,
        )
        assert response.status_code == 422, expires_at
        assert response.json()["errors"][0]["loc"][:2] == ["body", "expires_at"]


def test_scopes_must_be_known_and_not_empty(client: TestClient) -> None:
    owner = register_owner(client)
    for scopes in ([], ["root"]):
        response = client.post(KEYS, json={"name": "k", "scopes": scopes}, headers=owner.headers)
        assert response.status_code == 422, scopes
    extra = client.post(
        KEYS,
        json={"name": "k", "scopes": ["read"], "user_id": str(uuid.uuid4())},
        headers=owner.headers,
    )
    assert extra.status_code == 422


def test_last_used_at_is_set_after_use(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    created = create_key(client, owner)
    assert _stored(run, created["id"]).last_used_at is None
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200
    used = _stored(run, created["id"]).last_used_at
    assert used is not None
    assert abs((utcnow() - used).total_seconds()) < 60


def test_only_the_hash_is_stored_and_audited_redacted(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    created = create_key(client, owner)
    key = created["key"]
    stored = _stored(run, created["id"])
    assert stored.key_hash == hash_token(key)
    assert key not in json.dumps({k: str(v) for k, v in vars(stored).items()})

    async def audit_rows(session: AsyncSession) -> list[AuditLog]:
        stmt = select(AuditLog).where(
            AuditLog.table_name == "api_keys", AuditLog.record_id == created["id"]
        )
        return list((await session.execute(stmt)).scalars())

    rows = run(audit_rows)
    assert [r.action for r in rows] == ["create"]
    changes = rows[0].changes
    assert changes["key_hash"]["after"] == "[redacted]"
    text = json.dumps(changes)
    assert key not in text and stored.key_hash not in text
    assert rows[0].actor_user_id == owner.id


def test_key_of_a_deactivated_user_is_401(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    key = create_key(client, owner)["key"]

    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == owner.id).values(is_active=False))

    run(deactivate)
    assert client.get(ME, headers=bearer(key)).status_code == 401


def test_unknown_key_is_401(client: TestClient) -> None:
    response = client.get(ME, headers=bearer("kro_AAAAAAAA_" + "x" * 43))
    assert response.status_code == 401
    assert client.get(ME, headers={"X-API-Key": "kro_nothing"}).status_code == 401


def test_another_users_key_is_404(client: TestClient) -> None:
    owner = register_owner(client)
    other = register_owner(client)
    created = create_key(client, owner)
    for method in ("GET", "DELETE"):
        response = client.request(method, f"{KEYS}/{created['id']}", headers=other.headers)
        assert response.status_code == 404, method
    # the owner's key still works
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200
    assert created["id"] not in client.get(KEYS, headers=other.headers).text


def test_list_pages_through_own_keys_without_secrets(client: TestClient) -> None:
    owner = register_owner(client)
    other = register_owner(client)
    create_key(client, other)
    created = [create_key(client, owner, name=f"key {i}") for i in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = client.get(KEYS, params=params, headers=owner.headers)
        assert response.status_code == 200
        page = response.json()
        for item in page["items"]:
            assert "key" not in item and "key_hash" not in item
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # newest first, only the owner's
    assert seen == [c["id"] for c in reversed(created)]
    for c in created:
        assert c["key"] not in response.text


def test_list_filters_usable_keys(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    kept = create_key(client, owner)
    expired = create_key(client, owner)
    _expire(run, expired["id"])
    active = client.get(KEYS, params={"active": "true"}, headers=owner.headers).json()
    assert [k["id"] for k in active["items"]] == [kept["id"]]
    inactive = client.get(KEYS, params={"active": "false"}, headers=owner.headers).json()
    assert [k["id"] for k in inactive["items"]] == [expired["id"]]


def test_list_of_another_users_keys_is_empty_for_non_staff(client: TestClient) -> None:
    owner = register_owner(client)
    other = register_owner(client)
    created = create_key(client, owner)
    response = client.get(KEYS, params={"user_id": str(owner.id)}, headers=other.headers)
    assert response.status_code == 200 and response.json()["items"] == []
    assert created["id"] not in response.text
