"""Certifications: who records whose, validation, expiry filters, verification, change, delete."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import walk
from tests.fixtures.workforce import CERTS, create_cert, make_crew, post_cert, today


def _in(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


# --- create --------------------------------------------------------------------------------------


def test_owner_records_licence_unverified(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    body = create_cert(client, crew.owner, crew.tech.id, cert_type="sec_class_a", number="A-1")
    assert body["client_id"] == str(crew.owner.client_id)
    assert body["cert_type"] == "sec_class_a"
    assert body["verified_at"] is None and body["verified_by_id"] is None


def test_technician_records_own_licence(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    body = create_cert(client, crew.tech, crew.tech.id)
    assert body["technician_id"] == str(crew.tech.id)
    assert body["verified_at"] is None


def test_technician_cannot_record_anothers_licence(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    assert post_cert(client, crew.tech, crew.tech2.id).status_code == 404


def test_vendor_admin_records_only_own_vendors(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    body = create_cert(client, crew.vendor_admin, crew.vendor_tech.id)
    assert body["vendor_id"] == str(crew.vendor)
    assert post_cert(client, crew.vendor_admin, crew.tech.id).status_code == 404
    assert post_cert(client, crew.other_vendor_admin, crew.vendor_tech.id).status_code == 404


def test_owner_of_other_client_gets_404(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    assert post_cert(client, crew.other_owner, crew.tech.id).status_code == 404


def test_manager_cannot_record(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    assert post_cert(client, crew.manager, crew.tech.id).status_code == 403


def test_non_technician_is_422(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    assert post_cert(client, crew.owner, crew.manager.id).status_code == 422


def test_bad_inputs_are_422(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    bad = [
        {"cert_type": "SEC A"},
        {"cert_type": "x"},
        {"number": ""},
        {"number": "a\x00b"},
        {"issued_date": "2025-01-10", "expires_date": "2025-01-09"},
        {"expires_date": None},
        {"expires_date": "0001-01-01", "issued_date": None},
    ]
    for fields in bad:
        response = post_cert(client, crew.owner, crew.tech.id, **fields)
        assert response.status_code == 422, (fields, response.text)


def test_duplicate_number_is_409(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    create_cert(client, crew.owner, crew.tech.id, cert_type="gas", number="G-7")
    response = post_cert(client, crew.owner, crew.tech.id, cert_type="gas", number="G-7")
    assert response.status_code == 409
    create_cert(client, crew.owner, crew.tech2.id, cert_type="gas", number="G-7")


# --- lists ---------------------------------------------------------------------------------------


def test_expiring_and_expired_filters(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    old = create_cert(client, crew.owner, crew.tech.id, expires_date=_in(-1))
    soon = create_cert(client, crew.owner, crew.tech.id, expires_date=_in(10))
    today_ = create_cert(client, crew.owner, crew.tech.id, expires_date=_in(0))
    later = create_cert(client, crew.owner, crew.tech.id, expires_date=_in(90))
    items, _ = walk(client, crew.owner, CERTS, expiring_within_days=30, sort="expires_date")
    assert [i["id"] for i in items] == [today_["id"], soon["id"]]
    items, _ = walk(client, crew.owner, CERTS, expired="true")
    assert [i["id"] for i in items] == [old["id"]]
    items, _ = walk(client, crew.owner, CERTS, expired="false")
    assert {i["id"] for i in items} == {soon["id"], today_["id"], later["id"]}
    items, pages = walk(client, crew.owner, CERTS, sort="-expires_date", limit=1)
    assert [i["id"] for i in items] == [later["id"], soon["id"], today_["id"], old["id"]]
    assert pages == 4


def test_filters_by_technician_and_type(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    gas = create_cert(client, crew.owner, crew.tech.id, cert_type="gas")
    create_cert(client, crew.owner, crew.tech.id, cert_type="heights")
    other = create_cert(client, crew.owner, crew.tech2.id, cert_type="gas")
    items, _ = walk(client, crew.owner, CERTS, cert_type="gas")
    assert {i["id"] for i in items} == {gas["id"], other["id"]}
    items, _ = walk(client, crew.owner, CERTS, technician_id=str(crew.tech2.id))
    assert [i["id"] for i in items] == [other["id"]]
    response = client.get(CERTS, params={"cert_type": "BAD!"}, headers=crew.owner.headers)
    assert response.status_code == 422


def test_who_reads_which(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    mine = create_cert(client, crew.owner, crew.tech.id)
    create_cert(client, crew.owner, crew.tech2.id)
    vendors = create_cert(client, crew.vendor_admin, crew.vendor_tech.id)
    items, _ = walk(client, crew.tech, CERTS)
    assert [i["id"] for i in items] == [mine["id"]]
    items, _ = walk(client, crew.manager, CERTS)
    assert len(items) == 2 and vendors["id"] not in {i["id"] for i in items}
    items, _ = walk(client, crew.requester, CERTS)
    assert items == []
    items, _ = walk(client, crew.vendor_admin, CERTS)
    assert [i["id"] for i in items] == [vendors["id"]]
    items, _ = walk(client, crew.other_owner, CERTS)
    assert items == []
    url = f"{CERTS}/{mine['id']}"
    assert client.get(url, headers=crew.tech2.headers).status_code == 404
    assert client.get(url, headers=crew.manager.headers).status_code == 200


# --- verification --------------------------------------------------------------------------------


def test_owner_verifies(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    cert = create_cert(client, crew.tech, crew.tech.id)
    response = client.post(f"{CERTS}/{cert['id']}/verify", headers=crew.owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified_by_id"] == str(crew.owner.id)
    assert body["verified_at"] is not None
    items, _ = walk(client, crew.owner, CERTS, verified="true")
    assert [i["id"] for i in items] == [cert["id"]]


def test_technician_cannot_verify_own(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    cert = create_cert(client, crew.tech, crew.tech.id)
    response = client.post(f"{CERTS}/{cert['id']}/verify", headers=crew.tech.headers)
    assert response.status_code == 403


def test_vendor_admin_verifies_only_own_vendor(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    theirs = create_cert(client, crew.vendor_tech, crew.vendor_tech.id)
    client_cert = create_cert(client, crew.owner, crew.tech.id)
    ok = client.post(f"{CERTS}/{theirs['id']}/verify", headers=crew.vendor_admin.headers)
    assert ok.status_code == 200
    refused = client.post(f"{CERTS}/{client_cert['id']}/verify", headers=crew.vendor_admin.headers)
    assert refused.status_code == 404
    other = client.post(f"{CERTS}/{theirs['id']}/verify", headers=crew.other_vendor_admin.headers)
    assert other.status_code == 404


def test_manager_and_other_owner_cannot_verify(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    cert = create_cert(client, crew.owner, crew.tech.id)
    url = f"{CERTS}/{cert['id']}/verify"
    assert client.post(url, headers=crew.manager.headers).status_code == 403
    assert client.post(url, headers=crew.other_owner.headers).status_code == 404
    assert client.post(url, headers=crew.staff.headers).status_code == 200


def test_change_of_data_clears_verification(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    cert = create_cert(client, crew.owner, crew.tech.id)
    url = f"{CERTS}/{cert['id']}"
    client.post(f"{url}/verify", headers=crew.owner.headers)
    same = client.patch(url, json={"issuer": cert["issuer"]}, headers=crew.owner.headers)
    assert same.json()["verified_at"] is not None
    changed = client.patch(url, json={"expires_date": _in(500)}, headers=crew.owner.headers)
    assert changed.status_code == 200
    assert changed.json()["verified_at"] is None and changed.json()["verified_by_id"] is None


def test_technician_edits_own_only_while_unverified(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    cert = create_cert(client, crew.tech, crew.tech.id)
    url = f"{CERTS}/{cert['id']}"
    response = client.patch(url, json={"number": "N-2"}, headers=crew.tech.headers)
    assert response.status_code == 200 and response.json()["number"] == "N-2"
    client.post(f"{url}/verify", headers=crew.owner.headers)
    assert client.patch(url, json={"number": "N-3"}, headers=crew.tech.headers).status_code == 403
    assert client.delete(url, headers=crew.tech.headers).status_code == 403
    assert client.delete(url, headers=crew.owner.headers).status_code == 204


def test_update_dates_checked_against_stored(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    cert = create_cert(client, crew.owner, crew.tech.id, issued_date="2024-01-15")
    url = f"{CERTS}/{cert['id']}"
    response = client.patch(url, json={"expires_date": "2024-01-01"}, headers=crew.owner.headers)
    assert response.status_code == 422
    response = client.patch(url, json={"expires_date": None}, headers=crew.owner.headers)
    assert response.status_code == 422


def test_update_to_duplicate_number_is_409(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    create_cert(client, crew.owner, crew.tech.id, cert_type="gas", number="G-1")
    second = create_cert(client, crew.owner, crew.tech.id, cert_type="gas", number="G-2")
    response = client.patch(
        f"{CERTS}/{second['id']}", json={"number": "G-1"}, headers=crew.owner.headers
    )
    assert response.status_code == 409


def test_delete_by_other_owner_is_404(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    cert = create_cert(client, crew.owner, crew.tech.id)
    url = f"{CERTS}/{cert['id']}"
    assert client.delete(url, headers=crew.other_owner.headers).status_code == 404
    assert client.delete(url, headers=crew.manager.headers).status_code == 403
    assert client.get(url, headers=crew.owner.headers).status_code == 200
