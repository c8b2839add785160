"""PATCH /users/{id}: profile fields, unique phone, and who may set which role."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.core.enums import UserRole
from tests.fixtures.factories import Account, Runner, make_staff, make_user, make_vendor
from tests.users.conftest import Team

URL = "/api/v1/users"


def _patch(client: TestClient, actor: Account, target: Account, body: dict[str, Any]) -> Any:
    return client.patch(f"{URL}/{target.id}", json=body, headers=actor.headers)


def test_anyone_edits_own_profile(client: TestClient, team: Team) -> None:
    body = {
        "full_name": "Técnico Uno",
        "phone": "+56 9 1234 5678",
        "language": "en",
        "timezone": "America/Punta_Arenas",
        "skills": ["hvac", "electricity", "hvac"],
    }
    response = _patch(client, team.technician, team.technician, body)
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["full_name"] == "Técnico Uno"
    assert user["language"] == "en" and user["timezone"] == "America/Punta_Arenas"
    assert user["skills"] == ["hvac", "electricity"]
    assert user["phone"] == "+56 9 1234 5678"


def test_phone_can_be_cleared(client: TestClient, team: Team) -> None:
    _patch(client, team.manager, team.manager, {"phone": "+56911111111"})
    response = _patch(client, team.manager, team.manager, {"phone": None})
    assert response.status_code == 200 and response.json()["phone"] is None


def test_owner_edits_profile_of_their_member(client: TestClient, team: Team) -> None:
    response = _patch(client, team.owner, team.manager, {"full_name": "Gerente"})
    assert response.status_code == 200 and response.json()["full_name"] == "Gerente"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"language": "fr"}, "language"),
        ({"skills": ["welding"]}, "skills"),
        ({"full_name": None}, "full_name"),
        ({"full_name": ""}, "full_name"),
        ({"phone": "call me"}, "phone"),
        ({"email": "new@example.cl"}, "email"),
        ({"is_active": False}, "is_active"),
    ],
)
def test_invalid_or_unknown_fields_are_422(
    client: TestClient, team: Team, body: dict[str, Any], field: str
) -> None:
    response = _patch(client, team.manager, team.manager, body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][:2] == ["body", field]


def test_phone_used_by_someone_else_is_409(client: TestClient, team: Team) -> None:
    assert _patch(client, team.manager, team.manager, {"phone": "+56922222222"}).status_code == 200
    response = _patch(client, team.technician, team.technician, {"phone": "+56922222222"})
    assert response.status_code == 409
    assert response.json()["code"] == "phone_taken"


def test_keeping_own_phone_is_fine(client: TestClient, team: Team) -> None:
    _patch(client, team.manager, team.manager, {"phone": "+56933333333"})
    assert _patch(client, team.manager, team.manager, {"phone": "+56933333333"}).status_code == 200


def test_owner_cannot_edit_another_clients_user(
    client: TestClient, team: Team, other_team: Team
) -> None:
    response = _patch(client, team.owner, other_team.manager, {"full_name": "Hijacked"})
    assert response.status_code == 404
    body = client.get(f"{URL}/{other_team.manager.id}", headers=other_team.owner.headers).json()
    assert body["full_name"] != "Hijacked"


def test_own_role_change_is_refused(client: TestClient, run: Runner, team: Team) -> None:
    for account, role in [
        (team.manager, "client_owner"),
        (team.owner, "client_member"),
        (make_staff(client, run), "technician"),
    ]:
        response = _patch(client, account, account, {"role": role})
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "own_role_change"


def test_restating_own_role_is_not_a_change(client: TestClient, team: Team) -> None:
    response = _patch(client, team.manager, team.manager, {"role": "client_member"})
    assert response.status_code == 200


def test_member_cannot_change_someone_elses_role(client: TestClient, team: Team) -> None:
    response = _patch(client, team.manager, team.technician, {"role": "client_member"})
    assert response.status_code == 404
    target = client.get(f"{URL}/{team.technician.id}", headers=team.owner.headers).json()
    assert target["role"] == "technician"


def test_owner_moves_people_between_member_and_technician(client: TestClient, team: Team) -> None:
    response = _patch(client, team.owner, team.technician, {"role": "client_member"})
    assert response.status_code == 200 and response.json()["role"] == "client_member"
    response = _patch(client, team.owner, team.manager, {"role": "technician"})
    assert response.status_code == 200 and response.json()["role"] == "technician"


@pytest.mark.parametrize("role", ["client_owner", "super_admin", "vendor_admin"])
def test_owner_cannot_grant_higher_roles(client: TestClient, team: Team, role: str) -> None:
    response = _patch(client, team.owner, team.manager, {"role": role})
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


def test_vendor_admin_manages_roles_within_their_vendor(client: TestClient, run: Runner) -> None:
    vendor = make_vendor(run)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    response = _patch(client, admin, tech, {"role": "vendor_admin"})
    assert response.status_code == 200 and response.json()["role"] == "vendor_admin"
    for role in ("client_member", "client_owner", "super_admin"):
        assert _patch(client, admin, tech, {"role": role}).status_code == 403


def test_vendor_admin_cannot_touch_client_users(
    client: TestClient, run: Runner, team: Team
) -> None:
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run))
    assert _patch(client, admin, team.technician, {"role": "vendor_admin"}).status_code == 404


def test_staff_cannot_make_a_second_owner(client: TestClient, run: Runner, team: Team) -> None:
    staff = make_staff(client, run)
    response = _patch(client, staff, team.manager, {"role": "client_owner"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "owner_by_transfer"


def test_staff_cannot_give_a_role_that_does_not_fit(
    client: TestClient, run: Runner, team: Team
) -> None:
    staff = make_staff(client, run)
    response = _patch(client, staff, team.manager, {"role": "vendor_admin"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "role"]


def test_account_owner_keeps_owner_role(client: TestClient, run: Runner, team: Team) -> None:
    staff = make_staff(client, run)
    response = _patch(client, staff, team.owner, {"role": "client_member"})
    assert response.status_code == 409


def test_role_change_is_audited(client: TestClient, run: Runner, team: Team) -> None:
    from sqlalchemy import select

    from kerops.audit.models import AuditLog

    _patch(client, team.owner, team.technician, {"role": "client_member"})

    async def entries(session: Any) -> list[Any]:
        stmt = select(AuditLog).where(
            AuditLog.record_id == str(team.technician.id), AuditLog.action == "update"
        )
        return list((await session.execute(stmt)).scalars())

    # Other updates of the account (a sign-in stamps it) are audited too, in no set order.
    rows = [row for row in run(entries) if "role" in row.changes]
    assert len(rows) == 1
    assert rows[0].changes["role"] == {"before": "technician", "after": "client_member"}
    assert rows[0].actor_user_id == team.owner.id
