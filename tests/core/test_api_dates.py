"""Every date and instant the API accepts is of one shared type, bounded to 1900-2200: a value
outside it is a 422 in the validation shape naming the range, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.core.enums import UserRole
from kerops.core.schemas import FORMAT_MAXIMUM, FORMAT_MINIMUM
from tests.fixtures.factories import Runner, make_user
from tests.fixtures.operations import create_ticket
from tests.fixtures.plans import date_plan_body, make_asset, plans_url
from tests.fixtures.tenancy import make_team

API = "/api/v1"
DATETIME_BOUNDS = {
    FORMAT_MINIMUM: "1900-01-01T00:00:00Z",
    FORMAT_MAXIMUM: "2200-12-31T23:59:59.999999Z",
}
DATE_BOUNDS = {FORMAT_MINIMUM: "1900-01-01", FORMAT_MAXIMUM: "2200-12-31"}
BOUNDS = {"date-time": DATETIME_BOUNDS, "date": DATE_BOUNDS}
RANGE_MESSAGE = "must be between 1900-01-01T00:00:00Z and 2200-12-31T23:59:59.999999Z"


def _dates_in(schema: Any, components: dict[str, Any], where: str, seen: set[str]) -> list[Any]:
    """(where, schema) of every ``date``/``date-time`` string in ``schema``, through its refs."""
    found: list[Any] = []
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                found += _dates_in(components[name], components, f"{where} -> {name}", seen)
        if isinstance(schema.get("format"), str) and schema["format"] in BOUNDS:
            found.append((where, schema))
        for key, value in schema.items():
            if key != "$ref":
                found += _dates_in(value, components, f"{where}.{key}", seen)
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += _dates_in(value, components, f"{where}[{index}]", seen)
    return found


def _accepted_dates(document: dict[str, Any]) -> list[Any]:
    """Every date or date-time the operations of ``document`` accept: parameters and bodies."""
    components = document.get("components", {}).get("schemas", {})
    found: list[Any] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                found += _dates_in(parameter.get("schema"), components, where, set())
            body = operation.get("requestBody", {}).get("content", {})
            for media_type, content in body.items():
                where = f"{method.upper()} {path} body ({media_type})"
                found += _dates_in(content.get("schema"), components, where, set())
    return found


def test_every_date_and_time_the_api_accepts_is_the_shared_bounded_type(
    client: TestClient,
) -> None:
    accepted = _accepted_dates(client.app.openapi())  # type: ignore[attr-defined]
    # The API takes dates and instants in queries and bodies of several modules: the walk sees them.
    assert len(accepted) >= 20
    wrong = [
        where
        for where, schema in accepted
        if {key: schema.get(key) for key in (FORMAT_MINIMUM, FORMAT_MAXIMUM)}
        != BOUNDS[schema["format"]]
    ]
    assert not wrong, "use kerops.core.schemas.ApiDateTime / ApiDate for: " + ", ".join(wrong)


def _candidates(client: TestClient, run: Runner, at: str) -> Any:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1)
    return client.get(
        f"{API}/tickets/{ticket['id']}/candidates", params={"at": at}, headers=team.owner.headers
    )


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-05:00",
        "1899-12-31T23:59:59.999999Z",
        "1900-01-01T00:00:00+00:01",
        "2201-01-01T00:00:00Z",
    ],
)
def test_candidates_at_an_instant_outside_the_range_is_a_422_naming_the_range(
    client: TestClient, run: Runner, at: str
) -> None:
    response = _candidates(client, run, at)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"] == [
        {"loc": ["query", "at"], "msg": RANGE_MESSAGE, "type": "datetime_out_of_range"}
    ]


@pytest.mark.parametrize(
    "at", ["1900-01-01T00:00:00Z", "2200-12-31T23:59:59.999999Z", "2200-12-31T20:00:00-03:59"]
)
def test_candidates_at_the_ends_of_the_range_are_answered(
    client: TestClient, run: Runner, at: str
) -> None:
    response = _candidates(client, run, at)
    assert response.status_code == 200, response.text


def test_a_naive_instant_is_still_refused(client: TestClient, run: Runner) -> None:
    response = _candidates(client, run, "2026-01-05T10:00:00")
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["type"] == "timezone_aware"


def response_errors(response: Any) -> list[tuple[list[Any], str]]:
    """(loc, type) of each error of a 422."""
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    return [(error["loc"], error["type"]) for error in response.json()["errors"]]


def test_a_shift_in_year_9999_is_a_422_and_one_at_the_end_of_the_range_is_created(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)

    def shift(starts_at: str, ends_at: str) -> Any:
        body = {"technician_id": str(tech.id), "starts_at": starts_at, "ends_at": ends_at}
        return client.post(f"{API}/technicians/shifts", json=body, headers=team.owner.headers)

    refused = shift("9999-12-31T20:00:00Z", "9999-12-31T23:59:59Z")
    assert response_errors(refused) == [
        (["body", "starts_at"], "datetime_out_of_range"),
        (["body", "ends_at"], "datetime_out_of_range"),
    ]
    created = shift("2200-12-31T20:00:00Z", "2200-12-31T23:59:59.999999Z")
    assert created.status_code == 201, created.text
    assert created.json()["ends_at"].startswith("2200-12-31T23:59:59.999999")


def test_a_maintenance_plan_starting_after_the_range_is_a_422(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    asset = make_asset(run, team.client_id, team.locale1)
    url = plans_url(asset)
    late = client.post(
        url, json=date_plan_body(start_date="2201-01-01"), headers=team.owner.headers
    )
    assert response_errors(late) == [(["body", "start_date"], "date_out_of_range")]
    assert late.json()["errors"][0]["msg"] == "must be between 1900-01-01 and 2200-12-31"
    last = client.post(
        url, json=date_plan_body(start_date="2200-12-31"), headers=team.owner.headers
    )
    assert last.status_code == 201, last.text


def test_an_asset_installed_on_the_first_day_of_the_range_is_kept_and_a_day_before_refused(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    body = {"name": "Ascensor", "locale_id": str(team.locale1)}
    early = client.post(
        f"{API}/assets", json={**body, "install_date": "1899-12-31"}, headers=team.owner.headers
    )
    assert response_errors(early) == [(["body", "install_date"], "date_out_of_range")]
    kept = client.post(
        f"{API}/assets", json={**body, "install_date": "1900-01-01"}, headers=team.owner.headers
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["install_date"] == "1900-01-01"


def test_a_locale_closed_on_a_date_outside_the_range_is_a_422(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    url = f"{API}/locales/{team.locale1}"
    refused = client.patch(url, json={"closed_dates": ["0001-01-01"]}, headers=team.owner.headers)
    assert response_errors(refused) == [(["body", "closed_dates", 0], "date_out_of_range")]
    kept = client.patch(
        url, json={"closed_dates": ["2200-12-31", "1900-01-01"]}, headers=team.owner.headers
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["closed_dates"] == ["1900-01-01", "2200-12-31"]
