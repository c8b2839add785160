"""Vendors: the platform directory, private contractors, RUT rules and their people."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.core.enums import UserRole
from tests.fixtures.factories import Account, Runner, make_staff, make_user, make_vendor
from tests.users.conftest import Team

URL = "/api/v1/vendors"
RUT = "77.777.777-7"  # 77777777-7


def _create(client: TestClient, actor: Account, **body: Any) -> Any:
    body.setdefault("name", "Climatización Sur SpA")
    body.setdefault("rut", RUT)
    body = {k: str(v) if k.endswith("_id") else v for k, v in body.items()}
    return client.post(URL, json=body, headers=actor.headers)


def _ids(client: TestClient, actor: Account, **params: Any) -> set[str]:
    response = client.get(URL, params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return {v["id"] for v in response.json()["items"]}


def test_staff_creates_a_platform_vendor_with_normalised_rut(
    client: TestClient, run: Runner
) -> None:
    staff = make_staff(client, run)
    response = _create(
        client,
        staff,
        contact_name="Ana",
        contact_email="ana@climasur.cl",
        contact_phone="+56 2 2345 6789",
    )
    assert response.status_code == 201, response.text
    vendor = response.json()
    assert vendor["client_id"] is None and vendor["rut"] == "77777777-7"
    assert vendor["contact_email"] == "ana@climasur.cl" and vendor["is_active"] is True


def test_owner_creates_a_private_vendor(client: TestClient, team: Team) -> None:
    response = _create(client, team.owner, rut="10000013-k")
    assert response.status_code == 201
    assert response.json()["client_id"] == str(team.client_id)
    assert response.json()["rut"] == "10000013-K"


def test_staff_creates_a_private_vendor_for_a_client(
    client: TestClient, run: Runner, team: Team
) -> None:
    response = _create(client, make_staff(client, run), client_id=team.client_id)
    assert response.status_code == 201 and response.json()["client_id"] == str(team.client_id)
    assert response.json()["id"] in _ids(client, team.owner)


def test_owner_cannot_create_for_another_client(
    client: TestClient, team: Team, other_team: Team
) -> None:
    assert _create(client, team.owner, client_id=other_team.client_id).status_code == 404


def test_staff_client_id_must_name_a_client(client: TestClient, run: Runner, team: Team) -> None:
    staff = make_staff(client, run)
    assert _create(client, staff, client_id=team.manager.id).status_code == 404


def test_members_and_vendor_admins_cannot_create(
    client: TestClient, run: Runner, team: Team
) -> None:
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run))
    assert _create(client, team.manager).status_code == 403
    assert _create(client, admin).status_code == 403


@pytest.mark.parametrize("rut", ["77.777.777-6", "12345678", "abc", "1.234.567.890-1", "0-0"])
def test_invalid_rut_is_422_on_the_field(client: TestClient, team: Team, rut: str) -> None:
    response = _create(client, team.owner, rut=rut)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "rut"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("contact_email", "not-an-email"), ("contact_phone", "call me"), ("name", "")],
)
def test_invalid_contact_fields_are_422(
    client: TestClient, team: Team, field: str, value: str
) -> None:
    response = _create(client, team.owner, **{field: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][:2] == ["body", field]


def test_name_is_required(client: TestClient, team: Team) -> None:
    response = client.post(URL, json={"rut": RUT}, headers=team.owner.headers)
    assert response.status_code == 422


def test_duplicate_rut_in_the_same_client_is_409(client: TestClient, team: Team) -> None:
    assert _create(client, team.owner, rut="77777777-7").status_code == 201
    response = _create(client, team.owner, rut="777777777", name="Otro nombre")
    assert response.status_code == 409 and response.json()["code"] == "rut_taken"


def test_same_rut_in_another_client_is_fine(
    client: TestClient, team: Team, other_team: Team
) -> None:
    assert _create(client, team.owner).status_code == 201
    assert _create(client, other_team.owner).status_code == 201


def test_duplicate_rut_among_platform_vendors_is_409(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    make_vendor(run, None)  # stored as "76.086.428-5"
    response = _create(client, staff, rut="76086428-5")
    assert response.status_code == 409


def test_directory_shows_platform_and_own_vendors_only(
    client: TestClient, run: Runner, team: Team, other_team: Team
) -> None:
    platform = make_vendor(run, None, "Red KER")
    mine = make_vendor(run, team.client_id, "Mío")
    theirs = make_vendor(run, other_team.client_id, "Ajeno")
    assert _ids(client, team.manager) == {str(platform), str(mine)}
    assert str(theirs) not in _ids(client, team.owner)
    assert client.get(f"{URL}/{theirs}", headers=team.owner.headers).status_code == 404
    assert client.get(f"{URL}/{platform}", headers=team.technician.headers).status_code == 200


def test_filters_q_and_is_active(client: TestClient, run: Runner, team: Team) -> None:
    staff = make_staff(client, run)
    cold = _create(client, staff, name="Frío Norte", rut="77777777-7").json()
    _create(client, staff, name="Eléctrica Sur", rut="10000013-K")
    assert _ids(client, team.owner, q="norte") == {cold["id"]}
    assert _ids(client, team.owner, q="77.777") == {cold["id"]}
    client.patch(f"{URL}/{cold['id']}", json={"is_active": False}, headers=staff.headers)
    assert _ids(client, team.owner, is_active="false") == {cold["id"]}


def test_owner_updates_their_private_vendor(client: TestClient, team: Team) -> None:
    vendor = _create(client, team.owner).json()
    response = client.patch(
        f"{URL}/{vendor['id']}",
        json={"contact_email": "ops@vendor.cl", "rut": "10.000.013-K", "is_active": False},
        headers=team.owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["rut"] == "10000013-K" and response.json()["is_active"] is False


def test_update_to_a_taken_rut_is_409(client: TestClient, team: Team) -> None:
    _create(client, team.owner, rut="10000013-K")
    vendor = _create(client, team.owner).json()
    response = client.patch(
        f"{URL}/{vendor['id']}", json={"rut": "10000013k"}, headers=team.owner.headers
    )
    assert response.status_code == 409


def test_update_refuses_null_name_and_unknown_fields(client: TestClient, team: Team) -> None:
    vendor = _create(client, team.owner).json()
    for body in ({"name": None}, {"client_id": None}, {"rut": "1-1"}):
        response = client.patch(f"{URL}/{vendor['id']}", json=body, headers=team.owner.headers)
        assert response.status_code == 422, body


def test_vendor_admin_edits_contact_but_not_the_active_flag(
    client: TestClient, run: Runner
) -> None:
    vendor = make_vendor(run)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    ok = client.patch(f"{URL}/{vendor}", json={"contact_name": "Luis"}, headers=admin.headers)
    assert ok.status_code == 200 and ok.json()["contact_name"] == "Luis"
    refused = client.patch(f"{URL}/{vendor}", json={"is_active": False}, headers=admin.headers)
    assert refused.status_code == 403


def test_others_cannot_update(
    client: TestClient, run: Runner, team: Team, other_team: Team
) -> None:
    mine = make_vendor(run, team.client_id)
    platform = make_vendor(run, None, "Red KER")
    assert (
        client.patch(f"{URL}/{mine}", json={"name": "X"}, headers=other_team.owner.headers)
    ).status_code == 404
    assert (
        client.patch(f"{URL}/{mine}", json={"name": "X"}, headers=team.manager.headers)
    ).status_code == 404
    assert (
        client.patch(f"{URL}/{platform}", json={"name": "X"}, headers=team.owner.headers)
    ).status_code == 404


def test_delete_is_refused_while_the_vendor_has_users(
    client: TestClient, run: Runner, team: Team
) -> None:
    vendor = make_vendor(run, team.client_id)
    tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    response = client.delete(f"{URL}/{vendor}", headers=team.owner.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "vendor_has_users" and response.json()["users"] == 1
    assert client.get(f"/api/v1/users/{tech.id}", headers=team.owner.headers).json()[
        "vendor_id"
    ] == str(vendor)


def test_delete_a_vendor_without_users(client: TestClient, team: Team, other_team: Team) -> None:
    vendor = _create(client, team.owner).json()
    assert (
        client.delete(f"{URL}/{vendor['id']}", headers=other_team.owner.headers).status_code == 404
    )
    assert client.delete(f"{URL}/{vendor['id']}", headers=team.owner.headers).status_code == 204
    assert client.get(f"{URL}/{vendor['id']}", headers=team.owner.headers).status_code == 404


def test_members_are_visible_to_the_owner_and_the_vendor_admin_only(
    client: TestClient, run: Runner, team: Team
) -> None:
    vendor = make_vendor(run, team.client_id)
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    members_url = f"{URL}/{vendor}/members"
    for viewer in (team.owner, admin, make_staff(client, run)):
        response = client.get(members_url, headers=viewer.headers)
        assert response.status_code == 200
        assert {m["id"] for m in response.json()["items"]} == {str(admin.id), str(tech.id)}
    filtered = client.get(members_url, params={"role": "technician"}, headers=admin.headers)
    assert {m["id"] for m in filtered.json()["items"]} == {str(tech.id)}
    assert client.get(members_url, headers=team.manager.headers).status_code == 403


def test_platform_vendor_members_are_hidden_from_clients(
    client: TestClient, run: Runner, team: Team
) -> None:
    vendor = make_vendor(run, None)
    make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    response = client.get(f"{URL}/{vendor}/members", headers=team.owner.headers)
    assert response.status_code == 403
