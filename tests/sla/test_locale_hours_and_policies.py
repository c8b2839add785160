"""Business hours and closed dates of locales, and the clock of SLA policies: validation through
the API (a bad value is a 422 that changes nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import create_locale, make_team
from tests.operations.test_sla_policies import POLICIES, create_policy, targets

API = "/api/v1"
WEEKDAYS_9_TO_6 = {
    "mon": [["09:00", "18:00"]],
    "tue": [["09:00", "18:00"]],
    "wed": [["09:00", "18:00"]],
    "thu": [["09:00", "18:00"]],
    "fri": [["09:00", "18:00"]],
    "sat": [],
    "sun": [],
}


def test_a_new_locale_has_weekday_office_hours_and_no_extra_closed_dates(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    locale = create_locale(client, team.owner)
    assert locale["business_hours"] == WEEKDAYS_9_TO_6
    assert locale["closed_dates"] == []
    # Locales that existed before business hours get the same default.
    old = client.get(f"{API}/locales/{team.locale1}", headers=team.owner.headers).json()
    assert old["business_hours"] == WEEKDAYS_9_TO_6


def test_business_hours_and_closed_dates_are_stored_normalised(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    locale = create_locale(
        client,
        team.owner,
        business_hours={
            "sat": [["15:00", "20:00"], ["10:00", "14:00"]],
            "sun": [["00:00", "24:00"]],
        },
        closed_dates=["2026-12-31", "2026-12-24", "2026-12-31"],
    )
    assert locale["business_hours"]["sat"] == [["10:00", "14:00"], ["15:00", "20:00"]]
    assert locale["business_hours"]["sun"] == [["00:00", "24:00"]]
    assert locale["business_hours"]["mon"] == []
    assert locale["closed_dates"] == ["2026-12-24", "2026-12-31"]
    patched = client.patch(
        f"{API}/locales/{locale['id']}",
        json={"business_hours": {"mon": [["08:00", "12:00"]]}},
        headers=team.owner.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["business_hours"]["mon"] == [["08:00", "12:00"]]
    assert patched.json()["closed_dates"] == ["2026-12-24", "2026-12-31"]


@pytest.mark.parametrize(
    "change",
    [
        {"business_hours": {"mon": [["09:00", "09:00"]]}},
        {"business_hours": {"mon": [["18:00", "09:00"]]}},
        {"business_hours": {"mon": [["09:00", "13:00"], ["12:30", "18:00"]]}},
        {"business_hours": {"mon": [["9:00", "18:00"]]}},
        {"business_hours": {"mon": [["09:00", "25:00"]]}},
        {"business_hours": {"mon": [["09:00"]]}},
        {"business_hours": {"funday": [["09:00", "18:00"]]}},
        {"business_hours": {"mon": [], "tue": []}},
        {"business_hours": None},
        {"business_hours": "mon-fri 9-18"},
        {"closed_dates": ["2026-02-30"]},
        {"closed_dates": ["31/12/2026"]},
        {"closed_dates": None},
    ],
)
def test_bad_business_hours_are_422_and_change_nothing(
    client: TestClient, run: Runner, change: dict[str, Any]
) -> None:
    team = make_team(client, run)
    url = f"{API}/locales/{team.locale1}"
    before = client.get(url, headers=team.owner.headers).json()
    response = client.patch(url, json={**change, "name": "Renamed"}, headers=team.owner.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]
    after = client.get(url, headers=team.owner.headers).json()
    assert after == before
    created = client.post(
        f"{API}/locales", json={"name": "New", **change}, headers=team.owner.headers
    )
    assert created.status_code == 422


def test_a_policy_runs_on_the_calendar_clock_unless_told_otherwise(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    calendar = create_policy(client, team.owner)
    assert calendar["clock"] == "calendar"
    business = create_policy(client, team.owner, locale_id=str(team.locale1), clock="business")
    assert business["clock"] == "business"
    patched = client.patch(
        f"{POLICIES}/{calendar['id']}", json={"clock": "business"}, headers=team.owner.headers
    )
    assert patched.status_code == 200 and patched.json()["clock"] == "business"


@pytest.mark.parametrize("clock", ["lunar", "", None, 1])
def test_an_unknown_clock_is_422_and_changes_nothing(
    client: TestClient, run: Runner, clock: Any
) -> None:
    team = make_team(client, run)
    policy = create_policy(client, team.owner)
    url = f"{POLICIES}/{policy['id']}"
    response = client.patch(url, json={"clock": clock, "name": "X"}, headers=team.owner.headers)
    assert response.status_code == 422
    assert client.get(url, headers=team.owner.headers).json() == policy
    created = client.post(
        POLICIES,
        json={"name": "Y", "targets": targets(), "locale_id": str(team.locale1), "clock": clock},
        headers=team.owner.headers,
    )
    assert created.status_code == 422
