"""Who reaches which locale within one client: owner, managers, requesters, viewers, others."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kerops.core.enums import LocalRole, UserRole
from tests.fixtures.assets import make_asset, make_ticket
from tests.fixtures.factories import Account, Runner, add_member, make_area, make_user, make_vendor
from tests.fixtures.operations import set_ticket
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


def test_assigned_work_shows_its_premises_and_areas(client: TestClient, run: Runner) -> None:
    """A technician (or the vendor's admin) sent to a ticket reads its locale, the ticket's area
    and its asset's area — nothing else of the client, and nothing to change."""
    team = make_team(client, run)
    cid = team.client_id
    vendor = make_vendor(run, cid)
    technician = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    vendor_admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    ticket_area = make_area(run, cid, team.locale1, "Cocina")
    asset_area = make_area(run, cid, team.locale1, "Sala de máquinas")
    other_area = make_area(run, cid, team.locale1, "Bodega")
    asset = make_asset(run, cid, team.locale1, area_id=asset_area)
    ticket = make_ticket(run, cid, team.locale1, asset, technician_id=technician.id)
    set_ticket(run, ticket, area_id=ticket_area, vendor_id=vendor)
    areas_url = f"{LOCALES}/{team.locale1}/areas"
    for account in (technician, vendor_admin):
        assert _listed(client, account) == {str(team.locale1)}
        assert client.get(f"{LOCALES}/{team.locale1}", headers=account.headers).status_code == 200
        assert client.get(f"{LOCALES}/{team.locale2}", headers=account.headers).status_code == 404
        listed = client.get(areas_url, headers=account.headers).json()["items"]
        assert {a["id"] for a in listed} == {str(ticket_area), str(asset_area)}
        hidden = client.get(f"{areas_url}/{other_area}", headers=account.headers)
        assert hidden.status_code == 404
        shown = client.get(f"{areas_url}/{ticket_area}", headers=account.headers)
        assert shown.status_code == 200
        members = client.get(f"{LOCALES}/{team.locale1}/members", headers=account.headers)
        assert members.status_code == 200 and members.json()["items"] == []
        patch = client.patch(
            f"{LOCALES}/{team.locale1}", json={"name": "X"}, headers=account.headers
        )
        assert patch.status_code == 403
        patch = client.patch(
            f"{areas_url}/{ticket_area}", json={"name": "X"}, headers=account.headers
        )
        assert patch.status_code == 403
    # Unassigned, the technician reaches nothing again.
    set_ticket(run, ticket, technician_id=None, vendor_id=None)
    assert _listed(client, technician) == set()
    assert client.get(f"{areas_url}/{ticket_area}", headers=technician.headers).status_code == 404


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
