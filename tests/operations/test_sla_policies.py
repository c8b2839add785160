"""SLA policies: scopes (client-wide, per locale), validation, who may change them, and the
deadlines new tickets take from them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import QueryCounter
from tests.fixtures.factories import Runner, register_owner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import make_team, staff

API = "/api/v1"
POLICIES = f"{API}/sla-policies"


def targets(scale: int = 1) -> dict[str, dict[str, int]]:
    """Targets for every priority (minutes), multiplied by ``scale``."""
    return {
        "critical": {"response_minutes": 15 * scale, "resolution_minutes": 120 * scale},
        "high": {"response_minutes": 60 * scale, "resolution_minutes": 480 * scale},
        "medium": {"response_minutes": 120 * scale, "resolution_minutes": 1440 * scale},
        "low": {"response_minutes": 480 * scale, "resolution_minutes": 4320 * scale},
    }


def create_policy(client: TestClient, account: Any, **fields: Any) -> dict[str, Any]:
    body = {"name": "Stores", "targets": targets(), **fields}
    response = client.post(POLICIES, json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _due(ticket: dict[str, Any]) -> tuple[timedelta, timedelta]:
    created = datetime.fromisoformat(ticket["created_at"])
    return (
        datetime.fromisoformat(ticket["sla_response_due_at"]) - created,
        datetime.fromisoformat(ticket["sla_resolution_due_at"]) - created,
    )


def test_tickets_follow_locale_policy_then_client_wide_then_default(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    # No policy: the platform default (critical: 1 h / 4 h).
    plain = create_ticket(client, team.owner, team.locale1, priority="critical")
    assert _due(plain) == (timedelta(hours=1), timedelta(hours=4))
    assert plain["sla_policy_id"] is None

    wide = create_policy(client, team.owner, name="All stores")
    local = create_policy(
        client, team.owner, name="Flagship", locale_id=str(team.locale1), targets=targets(2)
    )
    in_1 = create_ticket(client, team.owner, team.locale1, priority="critical")
    in_2 = create_ticket(client, team.owner, team.locale2, priority="high")
    assert _due(in_1) == (timedelta(minutes=30), timedelta(minutes=240))
    assert in_1["sla_policy_id"] == local["id"]
    assert _due(in_2) == (timedelta(minutes=60), timedelta(minutes=480))
    assert in_2["sla_policy_id"] == wide["id"]
    # Tickets already raised keep their deadlines when the policy changes.
    patched = client.patch(
        f"{POLICIES}/{wide['id']}", json={"targets": targets(3)}, headers=team.owner.headers
    )
    assert patched.status_code == 200
    assert patched.json()["targets"]["high"] == {
        "response_minutes": 180,
        "resolution_minutes": 1440,
    }
    again = client.get(f"{API}/tickets/{in_2['id']}", headers=team.owner.headers).json()
    assert _due(again) == (timedelta(minutes=60), timedelta(minutes=480))
    # A priority change recomputes the deadlines from the creation time, under the new policy.
    bumped = client.patch(
        f"{API}/tickets/{in_2['id']}", json={"priority": "low"}, headers=team.owner.headers
    ).json()
    assert _due(bumped) == (timedelta(minutes=1440), timedelta(minutes=12960))
    # Deleting the locale's policy sends new tickets of locale 1 to the client-wide one.
    deleted = client.delete(f"{POLICIES}/{local['id']}", headers=team.owner.headers)
    assert deleted.status_code == 204
    later = create_ticket(client, team.owner, team.locale1, priority="critical")
    assert later["sla_policy_id"] == wide["id"]
    kept = client.get(f"{API}/tickets/{in_1['id']}", headers=team.owner.headers).json()
    assert kept["sla_policy_id"] is None and _due(kept) == _due(in_1)


def test_one_policy_per_scope(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    create_policy(client, team.owner)
    create_policy(client, team.owner, locale_id=str(team.locale1))
    for extra in ({}, {"locale_id": str(team.locale1)}):
        response = client.post(
            POLICIES,
            json={"name": "Again", "targets": targets(), **extra},
            headers=team.owner.headers,
        )
        assert response.status_code == 409
        assert response.json()["code"] == "sla_policy_exists"
    listed = client.get(POLICIES, headers=team.owner.headers).json()["items"]
    assert len(listed) == 2


def _post(client: TestClient, account: Any, body: dict[str, Any]) -> Any:
    return client.post(POLICIES, json=body, headers=account.headers)


def test_bad_targets_are_refused_and_change_nothing(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    missing = targets()
    del missing["low"]
    short = targets()
    short["high"] = {"response_minutes": 60, "resolution_minutes": 30}
    bad_bodies = [
        {"name": "X", "targets": missing},
        {"name": "X", "targets": short},
        {"name": "X", "targets": {**targets(), "urgent": targets()["high"]}},
        {
            "name": "X",
            "targets": {**targets(), "low": {"response_minutes": 0, "resolution_minutes": 5}},
        },
        {"name": "X", "targets": {**targets(), "low": {"response_minutes": 5}}},
        {"name": "X", "targets": targets(), "warning_percent": 100},
        {"name": "", "targets": targets()},
        {"name": "X", "targets": targets(), "surprise": 1},
        {"name": "X", "targets": targets(100)},
    ]
    for body in bad_bodies:
        response = _post(client, team.owner, body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(POLICIES, headers=team.owner.headers).json()["items"] == []
    policy = create_policy(client, team.owner)
    for patch in ({"name": None}, {"targets": missing}, {"warning_percent": 0}):
        response = client.patch(
            f"{POLICIES}/{policy['id']}", json=patch, headers=team.owner.headers
        )
        assert response.status_code == 422, patch
    same = client.get(f"{POLICIES}/{policy['id']}", headers=team.owner.headers).json()
    assert same == policy


def test_who_may_read_and_change(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    policy = create_policy(client, team.owner)
    url = f"{POLICIES}/{policy['id']}"
    # Members of the client read the policy (they see its deadlines on tickets anyway) ...
    for member in (team.manager, team.requester, team.viewer):
        assert client.get(url, headers=member.headers).status_code == 200
        ids = [p["id"] for p in client.get(POLICIES, headers=member.headers).json()["items"]]
        assert ids == [policy["id"]]
    # ... but only the owner (or staff) changes it.
    for member in (team.manager, team.requester):
        assert _post(client, member, {"name": "Mine", "targets": targets()}).status_code == 403
        assert client.patch(url, json={"name": "Y"}, headers=member.headers).status_code == 403
        assert client.delete(url, headers=member.headers).status_code == 403
    # Another client neither sees it nor can use one of A's locales for its own policy.
    other = register_owner(client)
    assert client.get(url, headers=other.headers).status_code == 404
    assert client.get(POLICIES, headers=other.headers).json()["items"] == []
    foreign = _post(
        client, other, {"name": "X", "targets": targets(), "locale_id": str(team.locale1)}
    )
    assert foreign.status_code == 404
    named = _post(
        client, other, {"name": "X", "targets": targets(), "client_id": str(team.client_id)}
    )
    assert named.status_code == 404


def test_staff_create_for_a_named_client(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    admin = staff(client, run)
    unnamed = _post(client, admin, {"name": "X", "targets": targets()})
    assert unnamed.status_code == 422
    not_a_client = _post(
        client, admin, {"name": "X", "targets": targets(), "client_id": str(team.manager.id)}
    )
    assert not_a_client.status_code == 422
    other = register_owner(client)
    assert other.client_id is not None
    mismatch = _post(
        client,
        admin,
        {
            "name": "X",
            "targets": targets(),
            "client_id": str(other.client_id),
            "locale_id": str(team.locale1),
        },
    )
    assert mismatch.status_code == 422
    made = create_policy(client, admin, client_id=str(team.client_id), warning_percent=80)
    assert made["client_id"] == str(team.client_id) and made["warning_percent"] == 80


def test_list_filters_and_bounded_queries(
    client: TestClient, run: Runner, queries: QueryCounter
) -> None:
    team = make_team(client, run)
    wide = create_policy(client, team.owner, name="Wide")
    one = create_policy(client, team.owner, name="One", locale_id=str(team.locale1))
    two = create_policy(client, team.owner, name="Two", locale_id=str(team.locale2))

    def ids(**params: Any) -> list[str]:
        response = client.get(POLICIES, params=params, headers=team.owner.headers)
        assert response.status_code == 200
        return [p["id"] for p in response.json()["items"]]

    assert ids() == [one["id"], two["id"], wide["id"]]  # by name
    assert ids(client_wide="true") == [wide["id"]]
    assert ids(client_wide="false") == [one["id"], two["id"]]
    assert ids(locale_id=str(team.locale2)) == [two["id"]]
    assert ids(q="wid") == [wide["id"]]
    with queries as q1:
        client.get(POLICIES, params={"limit": 1}, headers=team.owner.headers)
    with queries as q3:
        client.get(POLICIES, params={"limit": 3}, headers=team.owner.headers)
    assert q1.count == q3.count
