"""Labour rates: who sets them, one line per holder and category, and which one a log takes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kerops.core.enums import ClientRole, UserRole
from tests.fixtures.factories import Runner, make_user, make_vendor, register_owner
from tests.fixtures.labour import API, add_rate, hours_ago, labour_cost, log_time, make_crew
from tests.fixtures.operations import set_ticket


def _rate_of(client: TestClient, crew: Any, technician: Any, category: str, hour: float) -> int:
    response = log_time(
        client,
        crew.owner,
        crew.ticket,
        hours_ago(hour),
        minutes=60,
        technician_id=technician.id,
        category=category,
    )
    assert response.status_code == 201, response.text
    assert response.json()["cost_minor"] == response.json()["hourly_rate_minor"]
    rate: int = response.json()["hourly_rate_minor"]
    return rate


def test_a_log_takes_the_technicians_rate_then_the_vendors_then_none(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    vendor = make_vendor(run, crew.team.client_id, "Frío Industrial")
    worker = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    owner = crew.owner
    assert _rate_of(client, crew, worker, "work", 40) == 0  # no rate at all
    add_rate(client, owner, 20_000, vendor_id=vendor)  # the vendor's card, every category
    assert _rate_of(client, crew, worker, "travel", 38) == 20_000
    add_rate(client, owner, 8_000, vendor_id=vendor, category="travel")
    assert _rate_of(client, crew, worker, "travel", 36) == 8_000
    assert _rate_of(client, crew, worker, "work", 34) == 20_000
    add_rate(client, owner, 25_000, technician_id=worker.id)  # their own, every category
    assert _rate_of(client, crew, worker, "work", 32) == 25_000
    assert _rate_of(client, crew, worker, "travel", 30) == 25_000
    add_rate(client, owner, 5_000, technician_id=worker.id, category="waiting")
    assert _rate_of(client, crew, worker, "waiting", 28) == 5_000
    # The client's own technician has no vendor: their rate or nothing.
    assert _rate_of(client, crew, crew.technician, "travel", 26) == 0


def test_a_rate_is_frozen_on_the_log_and_a_new_category_takes_it_again(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    rate = add_rate(client, crew.owner, 12_000, technician_id=crew.technician.id)
    add_rate(client, crew.owner, 6_000, technician_id=crew.technician.id, category="travel")
    log = log_time(client, crew.technician, crew.ticket, hours_ago(5), minutes=30).json()
    changed = client.patch(
        f"{API}/labour-rates/{rate['id']}",
        json={"hourly_rate_minor": 99_000},
        headers=crew.owner.headers,
    )
    assert changed.status_code == 200 and changed.json()["hourly_rate_minor"] == 99_000
    shown = client.get(f"{API}/work-logs/{log['id']}", headers=crew.owner.headers).json()
    assert (shown["hourly_rate_minor"], shown["cost_minor"]) == (12_000, 6_000)
    travel = client.patch(
        f"{API}/work-logs/{log['id']}", json={"category": "travel"}, headers=crew.owner.headers
    )
    assert (travel.json()["hourly_rate_minor"], travel.json()["cost_minor"]) == (6_000, 3_000)
    assert labour_cost(run, crew.ticket) == 3_000


def test_only_those_who_manage_every_locale_set_rates(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    team = crew.team
    admin = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=team.client_id,
        client_role=ClientRole.admin,
    )
    wide = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=team.client_id,
        client_role=ClientRole.manager,
    )
    body = {"technician_id": str(crew.technician.id), "hourly_rate_minor": 10_000}
    for account in (team.manager, team.viewer, crew.technician):
        refused = client.post(f"{API}/labour-rates", json=body, headers=account.headers)
        assert refused.status_code == 403, account
    made = client.post(f"{API}/labour-rates", json=body, headers=wide.headers)
    assert made.status_code == 201
    rate_id = made.json()["id"]
    # A locale manager and the technician read it; they change nothing of it.
    for reader in (team.manager, crew.technician, admin):
        listed = client.get(f"{API}/labour-rates", headers=reader.headers).json()["items"]
        assert [r["id"] for r in listed] == [rate_id], reader
    url = f"{API}/labour-rates/{rate_id}"
    assert (
        client.patch(url, json={"currency": "USD"}, headers=team.manager.headers).status_code == 403
    )
    assert client.get(url, headers=team.viewer.headers).status_code == 404
    outsider = register_owner(client)
    assert client.get(url, headers=outsider.headers).status_code == 404
    assert client.delete(url, headers=outsider.headers).status_code == 404
    assert client.delete(url, headers=admin.headers).status_code == 204


def test_one_line_per_holder_and_category(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    add_rate(client, crew.owner, 10_000, technician_id=crew.technician.id)
    body = {"technician_id": str(crew.technician.id), "hourly_rate_minor": 11_000}
    again = client.post(f"{API}/labour-rates", json=body, headers=crew.owner.headers)
    assert again.status_code == 409 and again.json()["code"] == "labour_rate_exists"
    travel = client.post(
        f"{API}/labour-rates", json=body | {"category": "travel"}, headers=crew.owner.headers
    )
    assert travel.status_code == 201


def test_bad_rates_are_refused(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    other = register_owner(client)
    assert other.client_id is not None
    foreign_vendor = make_vendor(run, other.client_id, "Ajena")
    foreign_tech = make_user(client, run, role=UserRole.technician, client_id=other.client_id)
    h = crew.owner.headers
    tech = str(crew.technician.id)
    for body in (
        {"hourly_rate_minor": 1},  # no holder
        {"technician_id": tech, "vendor_id": str(foreign_vendor), "hourly_rate_minor": 1},
        {"technician_id": tech, "hourly_rate_minor": -1},
        {"technician_id": tech, "hourly_rate_minor": 1, "currency": "pesos"},
        {"technician_id": tech, "hourly_rate_minor": 1, "category": "lunch"},
    ):
        response = client.post(f"{API}/labour-rates", json=body, headers=h)
        assert response.status_code == 422, body
    for body in (
        {"vendor_id": str(foreign_vendor), "hourly_rate_minor": 1},
        {"technician_id": str(foreign_tech.id), "hourly_rate_minor": 1},
    ):
        assert client.post(f"{API}/labour-rates", json=body, headers=h).status_code == 404
    viewer = {"technician_id": str(crew.team.viewer.id), "hourly_rate_minor": 1}
    refused = client.post(f"{API}/labour-rates", json=viewer, headers=h)
    assert refused.status_code == 422 and refused.json()["code"] == "not_a_technician"
    assert client.get(f"{API}/labour-rates", headers=h).json()["items"] == []


def test_a_rate_in_another_currency_than_the_tickets_is_a_409(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    add_rate(client, crew.owner, 40, technician_id=crew.technician.id, currency="USD")
    refused = log_time(client, crew.technician, crew.ticket, hours_ago(3), minutes=30)
    assert refused.status_code == 409 and refused.json()["code"] == "labour_rate_currency"
    set_ticket(run, crew.ticket, currency="USD")
    done = log_time(client, crew.technician, crew.ticket, hours_ago(3), minutes=30)
    assert done.status_code == 201 and (done.json()["currency"], done.json()["cost_minor"]) == (
        "USD",
        20,
    )
