"""Deactivating and reactivating users: who may, and what stops working."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import ApiKey
from kerops.core.enums import UserRole
from kerops.core.security import hash_token, random_token
from tests.fixtures.factories import (
    PASSWORD,
    Account,
    Runner,
    login,
    make_staff,
    make_user,
    make_vendor,
)
from tests.users.conftest import Team

URL = "/api/v1/users"
ME = "/api/v1/auth/me"


def _api_key(run: Runner, account: Account) -> str:
    key = "kro_" + random_token(24)

    async def create(session: AsyncSession) -> None:
        session.add(
            ApiKey(
                user_id=account.id,
                client_id=account.client_id,
                name="integration",
                prefix=key[:12],
                key_hash=hash_token(key),
                scopes=["read", "write"],
            )
        )

    run(create)
    return key


def test_deactivated_user_can_no_longer_use_any_credential(
    client: TestClient, run: Runner, team: Team
) -> None:
    member = team.manager
    key = _api_key(run, member)
    assert client.get(ME, headers={"X-API-Key": key}).status_code == 200
    response = client.post(f"{URL}/{member.id}/deactivate", headers=team.owner.headers)
    assert response.status_code == 200 and response.json()["is_active"] is False

    assert client.get(ME, headers=member.headers).status_code == 401
    assert client.get(ME, headers={"X-API-Key": key}).status_code == 401
    refresh = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": member.tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    relogin = client.post("/api/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    assert relogin.status_code == 401


def test_deactivation_revokes_every_refresh_token(
    client: TestClient, run: Runner, team: Team
) -> None:
    from sqlalchemy import select

    from kerops.auth.models import RefreshToken

    login(client, team.manager.email)  # a second session
    client.post(f"{URL}/{team.manager.id}/deactivate", headers=team.owner.headers)

    async def revoked(session: AsyncSession) -> list[bool]:
        stmt = select(RefreshToken.revoked_at).where(RefreshToken.user_id == team.manager.id)
        return [value is not None for value in (await session.execute(stmt)).scalars()]

    assert run(revoked) == [True, True]


def test_reactivated_user_logs_in_again(client: TestClient, team: Team) -> None:
    client.post(f"{URL}/{team.technician.id}/deactivate", headers=team.owner.headers)
    response = client.post(f"{URL}/{team.technician.id}/activate", headers=team.owner.headers)
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert client.get(ME, headers=team.technician.headers).status_code == 401  # session ended
    assert login(client, team.technician.email)["access_token"]


def test_nobody_deactivates_themselves(client: TestClient, run: Runner, team: Team) -> None:
    staff = make_staff(client, run)
    for account in (team.owner, team.manager, staff):
        response = client.post(f"{URL}/{account.id}/deactivate", headers=account.headers)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "self_deactivation"
    assert client.get(ME, headers=team.owner.headers).status_code == 200


def test_owner_cannot_deactivate_another_clients_user(
    client: TestClient, team: Team, other_team: Team
) -> None:
    response = client.post(f"{URL}/{other_team.manager.id}/deactivate", headers=team.owner.headers)
    assert response.status_code == 404
    assert client.get(ME, headers=other_team.manager.headers).status_code == 200


def test_member_cannot_deactivate_colleagues(client: TestClient, team: Team) -> None:
    response = client.post(f"{URL}/{team.technician.id}/deactivate", headers=team.manager.headers)
    assert response.status_code == 404
    assert client.get(ME, headers=team.technician.headers).status_code == 200


def test_vendor_admin_deactivates_own_technician_only(
    client: TestClient, run: Runner, team: Team
) -> None:
    vendor = make_vendor(run)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    assert client.post(f"{URL}/{tech.id}/deactivate", headers=admin.headers).status_code == 200
    response = client.post(f"{URL}/{team.technician.id}/deactivate", headers=admin.headers)
    assert response.status_code == 404


def test_owner_cannot_deactivate_private_vendor_people(
    client: TestClient, run: Runner, team: Team
) -> None:
    vendor = make_vendor(run, team.client_id)
    tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    response = client.post(f"{URL}/{tech.id}/deactivate", headers=team.owner.headers)
    assert response.status_code == 404


def test_only_staff_deactivates_a_clients_account_owner(
    client: TestClient, run: Runner, team: Team
) -> None:
    staff = make_staff(client, run)
    granted = client.patch(
        f"{URL}/{team.manager.id}", json={"client_role": "admin"}, headers=staff.headers
    )
    assert granted.status_code == 200, granted.text
    admin = Account(
        id=team.manager.id,
        email=team.manager.email,
        role=UserRole.client_member,
        client_id=team.client_id,
        tokens=login(client, team.manager.email),
    )
    response = client.post(f"{URL}/{team.owner.id}/deactivate", headers=admin.headers)
    assert response.status_code == 403
    by_staff = client.post(f"{URL}/{team.owner.id}/deactivate", headers=staff.headers)
    assert by_staff.status_code == 200
