"""Invitations: who invites whom where, the one-time emailed link, and accepting it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import OtpCode
from kerops.core.enums import UserRole
from kerops.core.security import hash_token
from kerops.core.types import utcnow
from kerops.tenancy.models import LocalMember
from tests.fixtures.factories import (
    Account,
    Runner,
    login,
    make_staff,
    make_user,
    make_vendor,
    unique_email,
)
from tests.fixtures.users import accept, invitation_token, invite
from tests.users.conftest import Team

INVITE = "/api/v1/users/invite"
NEW_PASSWORD = "Nueva-Clave-2026"


def _post(client: TestClient, actor: Account, **body: Any) -> Any:
    body.setdefault("email", unique_email("invited"))
    body.setdefault("full_name", "Invited Person")
    body.setdefault("role", "technician")
    body = {k: str(v) if k.endswith("_id") else v for k, v in body.items()}
    return client.post(INVITE, json=body, headers=actor.headers)


def _codes(run: Runner, email: str) -> list[OtpCode]:
    async def load(session: AsyncSession) -> list[OtpCode]:
        stmt = select(OtpCode).where(OtpCode.destination == email)
        return list((await session.execute(stmt)).scalars())

    return list(run(load))


def test_invite_email_accept_then_login(client: TestClient, team: Team) -> None:
    email = unique_email("nuevo")
    user = invite(client, team.owner, email=email, role="client_member", full_name="Nueva")
    assert user["client_id"] == str(team.client_id) and user["role"] == "client_member"
    assert user["email_verified_at"] is None and "token" not in user

    message = client.app.state.kerops.sender.last_to(email)  # type: ignore[attr-defined]
    assert message.channel == "email"
    assert "http://testserver/accept-invite?token=" in message.body
    token = invitation_token(client, email)

    accepted = accept(client, token, NEW_PASSWORD)
    assert accepted.status_code == 200, accepted.text
    pair = accepted.json()
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200 and me.json()["email_verified_at"] is not None
    assert login(client, email, NEW_PASSWORD)["access_token"]


def test_invited_user_cannot_log_in_before_accepting(client: TestClient, team: Team) -> None:
    email = unique_email()
    invite(client, team.owner, email=email)
    response = client.post("/api/v1/auth/login", json={"email": email, "password": NEW_PASSWORD})
    assert response.status_code == 401


def test_token_is_stored_only_as_its_hash(
    client: TestClient, run: Runner, team: Team, settings: Any
) -> None:
    email = unique_email()
    invite(client, team.owner, email=email)
    token = invitation_token(client, email)
    [code] = _codes(run, email)
    assert code.code_hash == hash_token(token) and code.code_hash != token
    assert code.purpose == "invite" and code.channel == "email" and code.max_attempts == 1
    ttl = code.expires_at - utcnow()
    assert timedelta(hours=settings.invite_ttl_hours - 1) < ttl
    assert ttl <= timedelta(hours=settings.invite_ttl_hours)


def test_invitation_token_works_once(client: TestClient, team: Team) -> None:
    email = unique_email()
    invite(client, team.owner, email=email)
    token = invitation_token(client, email)
    assert accept(client, token, NEW_PASSWORD).status_code == 200
    again = accept(client, token, "Otra-Clave-2026")
    assert again.status_code == 400
    assert again.json()["code"] == "invitation_used"
    assert login(client, email, NEW_PASSWORD)["access_token"]


def test_expired_invitation_is_refused(client: TestClient, run: Runner, team: Team) -> None:
    email = unique_email()
    invite(client, team.owner, email=email)
    token = invitation_token(client, email)

    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(OtpCode)
            .where(OtpCode.destination == email)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )

    run(expire)
    response = accept(client, token, NEW_PASSWORD)
    assert response.status_code == 400
    assert response.json()["code"] == "invitation_expired"
    assert "expired" in response.json()["detail"]


def test_unknown_token_is_refused(client: TestClient) -> None:
    response = accept(client, "not-a-real-token", NEW_PASSWORD)
    assert response.status_code == 400
    assert response.json()["code"] == "invitation_invalid"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_weak_password_keeps_the_invitation_usable(client: TestClient, team: Team) -> None:
    email = unique_email()
    invite(client, team.owner, email=email)
    token = invitation_token(client, email)
    weak = accept(client, token, "short")
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["loc"] == ["body", "password"]
    assert accept(client, token, NEW_PASSWORD).status_code == 200


def test_accept_can_correct_the_name(client: TestClient, team: Team) -> None:
    email = unique_email()
    user = invite(client, team.owner, email=email, full_name="Typo Nmae")
    accept(client, invitation_token(client, email), NEW_PASSWORD, full_name="Typo Name")
    body = client.get(f"/api/v1/users/{user['id']}", headers=team.owner.headers).json()
    assert body["full_name"] == "Typo Name"


def test_deactivated_invitee_cannot_accept(client: TestClient, team: Team) -> None:
    email = unique_email()
    user = invite(client, team.owner, email=email)
    client.post(f"/api/v1/users/{user['id']}/deactivate", headers=team.owner.headers)
    response = accept(client, invitation_token(client, email), NEW_PASSWORD)
    assert response.status_code == 400


def test_existing_email_is_409(client: TestClient, team: Team) -> None:
    response = _post(client, team.owner, email=team.manager.email.upper())
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


def test_unknown_fields_are_422(client: TestClient, team: Team) -> None:
    response = _post(client, team.owner, password="Set-By-Inviter-1")
    assert response.status_code == 422


@pytest.mark.parametrize("role", ["client_owner", "super_admin", "vendor_admin"])
def test_owner_cannot_invite_higher_roles(client: TestClient, team: Team, role: str) -> None:
    assert _post(client, team.owner, role=role).status_code == 403


def test_members_and_technicians_cannot_invite(client: TestClient, team: Team) -> None:
    assert _post(client, team.manager).status_code == 403
    assert _post(client, team.technician).status_code == 403


def test_owner_invites_into_one_of_their_locales(
    client: TestClient, run: Runner, team: Team
) -> None:
    user = invite(
        client,
        team.owner,
        role="client_member",
        locale_id=team.locale,
        local_role="requester",
    )

    async def memberships(session: AsyncSession) -> list[tuple[str, str]]:
        stmt = select(LocalMember.locale_id, LocalMember.role).where(
            LocalMember.user_id == uuid.UUID(user["id"])
        )
        return [(str(locale), role.value) for locale, role in await session.execute(stmt)]

    assert run(memberships) == [(str(team.locale), "requester")]


def test_foreign_locale_is_404(client: TestClient, team: Team, other_team: Team) -> None:
    response = _post(client, team.owner, role="client_member", locale_id=other_team.locale)
    assert response.status_code == 404


def test_another_clients_id_is_404(client: TestClient, team: Team, other_team: Team) -> None:
    response = _post(client, team.owner, client_id=other_team.client_id)
    assert response.status_code == 404


def test_local_role_without_locale_is_422(client: TestClient, team: Team) -> None:
    assert _post(client, team.owner, local_role="manager").status_code == 422


def test_plan_limit_caps_client_invites(client: TestClient, team: Team) -> None:
    # The free plan allows 5 users; the owner, a manager and a technician already count.
    for _ in range(2):
        invite(client, team.owner)
    response = _post(client, team.owner)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "plan_limit_exceeded"
    assert body["limit"] == "max_users" and body["maximum"] == 5 and body["current"] == 5
    assert "5 users" in body["detail"]


def test_sixth_user_of_a_fresh_free_client_is_refused(client: TestClient) -> None:
    from tests.fixtures.factories import register_owner

    owner = register_owner(client)
    for _ in range(4):
        invite(client, owner)
    response = _post(client, owner)
    assert response.status_code == 403 and response.json()["code"] == "plan_limit_exceeded"


def test_vendor_admin_invites_technician_and_sees_them_as_member(
    client: TestClient, run: Runner
) -> None:
    vendor = make_vendor(run)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    email = unique_email("tecnico")
    user = invite(client, admin, email=email, role="technician")
    assert user["vendor_id"] == str(vendor) and user["client_id"] is None
    members = client.get(f"/api/v1/vendors/{vendor}/members", headers=admin.headers)
    assert members.status_code == 200
    assert user["id"] in {m["id"] for m in members.json()["items"]}
    assert accept(client, invitation_token(client, email), NEW_PASSWORD).status_code == 200


def test_vendor_admin_cannot_invite_client_roles(client: TestClient, run: Runner) -> None:
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run))
    assert _post(client, admin, role="client_member").status_code == 403
    assert _post(client, admin, vendor_id=make_vendor(run, name="Other")).status_code == 404


def test_owner_invites_the_admin_of_their_private_vendor(
    client: TestClient, run: Runner, team: Team
) -> None:
    vendor = make_vendor(run, team.client_id)
    user = invite(client, team.owner, role="vendor_admin", vendor_id=vendor)
    assert user["vendor_id"] == str(vendor) and user["client_id"] is None


def test_staff_invites_into_a_client_and_a_vendor(
    client: TestClient, run: Runner, team: Team
) -> None:
    staff = make_staff(client, run)
    admin = invite(
        client, staff, role="client_member", client_role="admin", client_id=team.client_id
    )
    assert admin["client_id"] == str(team.client_id) and admin["client_role"] == "admin"
    vendor = make_vendor(run)
    vendor_admin = invite(client, staff, role="vendor_admin", vendor_id=vendor)
    assert vendor_admin["vendor_id"] == str(vendor)
    new_client = invite(client, staff, role="client_owner")
    assert new_client["client_id"] == new_client["id"]
    row = client.get(f"/api/v1/clients/{new_client['id']}", headers=staff.headers)
    assert row.status_code == 200 and row.json()["owner_user_id"] == new_client["id"]


def test_a_client_has_one_owner(client: TestClient, run: Runner, team: Team) -> None:
    staff = make_staff(client, run)
    response = _post(client, staff, role="client_owner", client_id=str(team.client_id))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "role"]


def test_staff_invitation_role_must_fit_its_place(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    response = _post(client, staff, role="client_member")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "role"]
