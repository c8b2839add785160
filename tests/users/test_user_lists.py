"""Listing and reading users: who sees whom, filters, sorting and keyset pages."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kerops.core.enums import LocalRole, UserRole
from tests.fixtures.factories import Account, Runner, add_member, make_staff, make_user, make_vendor
from tests.users.conftest import Team

URL = "/api/v1/users"


def _ids(client: TestClient, account: Account, **params: Any) -> set[str]:
    response = client.get(URL, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_owner_sees_every_user_of_their_client_only(
    client: TestClient, team: Team, other_team: Team
) -> None:
    ids = _ids(client, team.owner)
    assert ids == {str(team.owner.id), str(team.manager.id), str(team.technician.id)}


def test_owner_cannot_read_another_clients_user(
    client: TestClient, team: Team, other_team: Team
) -> None:
    response = client.get(f"{URL}/{other_team.manager.id}", headers=team.owner.headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_member_sees_self_and_people_sharing_a_locale(
    client: TestClient, run: Runner, team: Team
) -> None:
    colleague = make_user(client, run, role=UserRole.client_member, client_id=team.client_id)
    add_member(run, team.client_id, team.locale, colleague.id, LocalRole.requester)
    assert _ids(client, team.manager) == {str(team.manager.id), str(colleague.id)}
    hidden = client.get(f"{URL}/{team.technician.id}", headers=team.manager.headers)
    assert hidden.status_code == 404


def test_technician_without_locales_sees_only_self(client: TestClient, team: Team) -> None:
    assert _ids(client, team.technician) == {str(team.technician.id)}


def test_vendor_admin_sees_own_vendors_people(client: TestClient, run: Runner) -> None:
    vendor = make_vendor(run)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    make_user(client, run, role=UserRole.technician, vendor_id=make_vendor(run, name="Other"))
    assert _ids(client, admin) == {str(admin.id), str(tech.id)}


def test_owner_sees_people_of_their_private_vendor(
    client: TestClient, run: Runner, team: Team
) -> None:
    vendor = make_vendor(run, team.client_id)
    tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    assert str(tech.id) in _ids(client, team.owner, vendor_id=str(vendor))


def test_staff_sees_everyone(client: TestClient, run: Runner, team: Team, other_team: Team) -> None:
    staff = make_staff(client, run)
    ids = _ids(client, staff, limit=200)
    assert {str(team.manager.id), str(other_team.manager.id), str(staff.id)} <= ids


def test_filters_role_active_and_client(client: TestClient, run: Runner, team: Team) -> None:
    staff = make_staff(client, run)
    assert _ids(client, team.owner, role="technician") == {str(team.technician.id)}
    assert _ids(client, staff, client_id=str(team.client_id), role="client_owner") == {
        str(team.owner.id)
    }
    assert _ids(client, team.owner, is_active="false") == set()
    client.post(f"{URL}/{team.technician.id}/deactivate", headers=team.owner.headers)
    assert _ids(client, team.owner, is_active="false") == {str(team.technician.id)}


def test_search_matches_email_or_name_case_insensitively(
    client: TestClient, run: Runner, team: Team
) -> None:
    client.patch(
        f"{URL}/{team.technician.id}", json={"full_name": "Jorge Muñoz"}, headers=team.owner.headers
    )
    assert _ids(client, team.owner, q="JORGE") == {str(team.technician.id)}
    local_part = team.manager.email.split("@")[0].upper()
    assert _ids(client, team.owner, q=local_part) == {str(team.manager.id)}
    assert _ids(client, team.owner, q="%") == set()


def test_sort_by_email_both_ways(client: TestClient, team: Team) -> None:
    emails = sorted([team.owner.email, team.manager.email, team.technician.email])
    asc = client.get(URL, params={"sort": "email"}, headers=team.owner.headers).json()["items"]
    desc = client.get(URL, params={"sort": "-email"}, headers=team.owner.headers).json()["items"]
    assert [u["email"] for u in asc] == emails
    assert [u["email"] for u in desc] == emails[::-1]


def test_unknown_sort_field_is_422(client: TestClient, team: Team) -> None:
    response = client.get(URL, params={"sort": "password_hash"}, headers=team.owner.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "sort"]


def test_keyset_pages_cover_every_user_once(client: TestClient, run: Runner, team: Team) -> None:
    for _ in range(3):
        make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "sort": "-created_at"}
        if cursor:
            params["cursor"] = cursor
        body = client.get(URL, params=params, headers=team.owner.headers).json()
        seen += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6


def test_get_own_user_never_shows_password_hash(client: TestClient, team: Team) -> None:
    body = client.get(f"{URL}/{team.manager.id}", headers=team.manager.headers).json()
    assert body["email"] == team.manager.email
    assert "password_hash" not in body
