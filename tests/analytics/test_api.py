"""The analytics routes' answers to bad requests, their defaults and whose client they read."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient

from kerops.analytics.periods import default_period
from kerops.core.enums import UserRole
from tests.fixtures.factories import Runner, make_staff, make_user

P = "/api/v1/analytics"


def _types(body: dict[str, object]) -> list[object]:
    return [e["type"] for e in body["errors"]]  # type: ignore[attr-defined, index]


def test_an_unknown_metric_is_a_404_with_its_code(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner)
    response = client.get(f"{P}/mtbr", headers=owner.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "metric_not_found"


def test_a_period_running_backwards_or_too_long_is_a_422(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner)
    backwards = client.get(
        f"{P}/mttr", params={"from": "2026-05-01", "to": "2026-04-30"}, headers=owner.headers
    )
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "validation_error"
    assert _types(backwards.json()) == ["period_invalid"]
    long = client.get(
        f"{P}/overview", params={"from": "2020-01-01", "to": "2026-04-30"}, headers=owner.headers
    )
    assert long.status_code == 422 and _types(long.json()) == ["period_too_long"]


def test_bad_filters_are_422s(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner)
    for params in (
        {"group": "year"},
        {"source": "email"},
        {"priority": "urgent"},
        {"locale_id": "not-a-uuid"},
        {"from": "2026-02-30"},
        {"category": ""},
    ):
        response = client.get(f"{P}/mttr", params=params, headers=owner.headers)
        assert response.status_code == 422, params
        assert response.json()["code"] == "validation_error", params


def test_the_default_period_is_the_last_twelve_months(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner)
    body = client.get(f"{P}/tickets", params={"group": "month"}, headers=owner.headers).json()
    start, end = default_period()
    assert (body["from"], body["to"]) == (start.isoformat(), end.isoformat())
    assert start == (end.replace(year=end.year - 1) + timedelta(days=1))
    assert len(body["points"]) in (12, 13)  # this month's part, and a year ago's part
    assert body["value"] == 0


def test_default_period_of_a_leap_day() -> None:
    assert default_period(date(2028, 2, 29)) == (date(2027, 3, 1), date(2028, 2, 29))


def test_platform_staff_name_the_client(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner)
    staff = make_staff(client, run)
    missing = client.get(f"{P}/overview", headers=staff.headers)
    assert missing.status_code == 422 and _types(missing.json()) == ["missing"]
    named = client.get(
        f"{P}/overview", params={"client_id": str(owner.client_id)}, headers=staff.headers
    )
    assert named.status_code == 200
    assert {c["key"] for c in named.json()["cards"]} >= {"mttr", "backlog", "costs"}


def test_another_clients_metrics_are_not_found(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner)
    other = make_user(client, run, role=UserRole.client_owner)
    response = client.get(
        f"{P}/mttr", params={"client_id": str(owner.client_id)}, headers=other.headers
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    own = client.get(f"{P}/mttr", params={"client_id": str(other.client_id)}, headers=other.headers)
    assert own.status_code == 200
