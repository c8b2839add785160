"""Plan limits: readable by every signed-in user, changed by platform staff only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.factories import Runner, make_staff, register_owner

URL = "/api/v1/plan-limits"


def test_the_four_seeded_plans_are_listed_in_order(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.get(URL, headers=owner.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    assert [p["plan"] for p in body["items"]] == ["free", "basic", "pro", "enterprise"]
    free = body["items"][0]
    assert (free["max_locales"], free["max_users"], free["max_assets"]) == (2, 5, 50)
    assert all(body["items"][3][f] is None for f in ("max_locales", "max_users", "max_assets"))


def test_listing_needs_a_login(client: TestClient) -> None:
    assert client.get(URL).status_code == 401


def test_staff_change_limits_and_null_means_unlimited(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    response = client.patch(
        f"{URL}/basic", json={"max_locales": 12, "max_users": None}, headers=staff.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["max_locales"], body["max_users"], body["max_assets"]) == (12, None, 1000)
    listed = {p["plan"]: p for p in client.get(URL, headers=staff.headers).json()["items"]}
    assert listed["basic"]["max_locales"] == 12 and listed["basic"]["max_users"] is None


def test_a_lowered_limit_is_enforced_on_the_next_create(client: TestClient, run: Runner) -> None:
    from kerops.core.errors import PlanLimitExceeded
    from kerops.core.limits import enforce_plan_limit

    staff = make_staff(client, run)
    owner = register_owner(client)
    assert (
        client.patch(f"{URL}/free", json={"max_users": 1}, headers=staff.headers).status_code == 200
    )

    async def check(session: Any) -> str:
        try:
            await enforce_plan_limit(session, client_id=owner.client_id, resource="users")
        except PlanLimitExceeded as exc:
            return str(exc.extra["limit"])
        return "allowed"

    assert run(check) == "max_users"


def test_bad_limits_are_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for body in (
        {"max_locales": -1},
        {"max_locales": "3"},
        {"max_locales": 2.5},
        {"max_locales": True},
        {"max_locales": 2**31},
        {"max_widgets": 3},
    ):
        response = client.patch(f"{URL}/free", json=body, headers=staff.headers)
        assert response.status_code == 422, (body, response.text)
    free = client.get(URL, headers=staff.headers).json()["items"][0]
    assert free["max_locales"] == 2


def test_unknown_plan_is_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    response = client.patch(f"{URL}/platinum", json={"max_locales": 1}, headers=staff.headers)
    assert response.status_code in (404, 422)


def test_only_staff_change_limits(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.patch(f"{URL}/free", json={"max_locales": 1000}, headers=owner.headers)
    assert response.status_code == 403
    assert client.get(URL, headers=owner.headers).json()["items"][0]["max_locales"] == 2
