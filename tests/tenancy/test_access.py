"""Who reaches which locale within one client: owner, managers, requesters, viewers, others."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kerops.core.enums import LocalRole, UserRole
from tests.fixtures.factories import Account, Runner, add_member, make_area, make_user, make_vendor
from tests.fixtures.tenancy import API, make_team, staff

LOCALES = f"{API}/locales"


def _listed(client: TestClient, account: Account) -> set[str]:
    response = client.get(LOCALES, headers=account.headers)
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


def test_owner_sees_every_locale_of_the_client(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert _listed(client, team.owner) == {str(team.locale1), str(team.locale2)}


def test_staff_sees_every_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = make_team(client, run)
    seen = _listed(client, staff(client, run))
    assert {str(team.locale1), str(team.locale2), str(other.locale1)} <= seen


def test_manager_sees_only_own_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert _listed(client, team.manager) == {str(team.locale1)}
    headers = team.manager.headers
    assert client.get(f"{LOCALES}/{team.locale2}", headers=headers).status_code == 404
    assert (
        client.patch(f"{LOCALES}/{team.locale2}", json={"name": "X"}, headers=headers).status_code
        == 404
    )
    assert client.get(f"{LOCALES}/{team.locale2}/areas", headers=headers).status_code == 404
    assert client.get(f"{LOCALES}/{team.locale2}/members", headers=headers).status_code == 404
    response = client.post(f"{LOCALES}/{team.locale2}/areas", json={"name": "X"}, headers=headers)
    assert response.status_code == 404


def test_requester_reads_but_cannot_write(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale1)
    headers = team.requester.headers
    base = f"{LOCALES}/{team.locale1}"
    assert _listed(client, team.requester) == {str(team.locale1)}
    assert client.get(base, headers=headers).status_code == 200
    assert client.get(f"{base}/areas", headers=headers).status_code == 200
    assert client.get(f"{base}/areas/{area}", headers=headers).status_code == 200
    assert client.get(f"{base}/members", headers=headers).status_code == 200
    writes = [
        client.patch(base, json={"name": "X"}, headers=headers),
        client.post(f"{base}/areas", json={"name": "X"}, headers=headers),
        client.patch(f"{base}/areas/{area}", json={"name": "X"}, headers=headers),
        client.delete(f"{base}/areas/{area}", headers=headers),
        client.post(
            f"{base}/members",
            json={"user_id": str(team.outsider.id), "role": "viewer"},
            headers=headers,
        ),
        client.patch(
            f"{base}/members/{team.viewer_member}", json={"role": "manager"}, headers=headers
        ),
        client.delete(f"{base}/members/{team.viewer_member}", headers=headers),
    ]
    assert [r.status_code for r in writes] == [403] * len(writes)


def test_viewer_reads_but_cannot_write(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    headers = team.viewer.headers
    base = f"{LOCALES}/{team.locale1}"
    assert _listed(client, team.viewer) == {str(team.locale1)}
    assert client.get(base, headers=headers).status_code == 200
    assert client.get(f"{base}/members", headers=headers).status_code == 200
    assert client.patch(base, json={"name": "X"}, headers=headers).status_code == 403
    response = client.post(f"{base}/areas", json={"name": "X"}, headers=headers)
    assert response.status_code == 403


def test_member_without_membership_sees_nothing(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert _listed(client, team.outsider) == set()
    response = client.get(f"{LOCALES}/{team.locale1}", headers=team.outsider.headers)
    assert response.status_code == 404


def test_technicians_and_vendor_admins_see_no_locales(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    # even a membership row (not creatable through the API) gives a technician no locale access
    add_member(run, team.client_id, team.locale1, technician.id, LocalRole.manager)
    vendor_admin = make_user(
        client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run, team.client_id)
    )
    for account in (technician, vendor_admin):
        assert _listed(client, account) == set()
        response = client.get(f"{LOCALES}/{team.locale1}", headers=account.headers)
        assert response.status_code == 404
        response = client.patch(
            f"{LOCALES}/{team.locale1}", json={"name": "X"}, headers=account.headers
        )
        assert response.status_code == 404


def test_removed_member_loses_access(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    url = f"{LOCALES}/{team.locale1}/members/{team.viewer_member}"
    assert client.delete(url, headers=team.owner.headers).status_code == 204
    response = client.get(f"{LOCALES}/{team.locale1}", headers=team.viewer.headers)
    assert response.status_code == 404


def test_promoted_viewer_can_write(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    url = f"{LOCALES}/{team.locale1}/members/{team.viewer_member}"
    response = client.patch(url, json={"role": "manager"}, headers=team.owner.headers)
    assert response.status_code == 200 and response.json()["role"] == "manager"
    response = client.patch(
        f"{LOCALES}/{team.locale1}", json={"city": "Maipú"}, headers=team.viewer.headers
    )
    assert response.status_code == 200
