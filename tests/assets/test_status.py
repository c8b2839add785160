"""Asset status changes: the history and the downtime computed from it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient

from kerops.core.enums import AssetStatus, UserRole
from tests.fixtures.assets import add_status_change, create_asset, make_asset, make_ticket
from tests.fixtures.factories import Runner, make_user
from tests.fixtures.tenancy import Team, make_team, walk

API = "/api/v1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_every_status_change_is_recorded(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1, status="maintenance")
    url = f"{API}/assets/{asset['id']}"
    client.patch(
        url, json={"status": "down", "status_reason": "motor"}, headers=team.manager.headers
    )
    client.patch(url, json={"name": "Renamed"}, headers=team.manager.headers)
    client.patch(url, json={"status": "down"}, headers=team.manager.headers)  # no change
    client.patch(url, json={"status": "operational"}, headers=team.owner.headers)
    items, _ = walk(client, team.owner, f"{url}/status-history")
    assert [(i["from_status"], i["to_status"]) for i in items] == [
        (None, "maintenance"),
        ("maintenance", "down"),
        ("down", "operational"),
    ]
    assert items[1]["reason"] == "motor"
    assert items[1]["changed_by_id"] == str(team.manager.id)
    assert items[2]["changed_by_id"] == str(team.owner.id)
    newest_first, _ = walk(client, team.owner, f"{url}/status-history", sort="-changed_at")
    assert newest_first == items[::-1]


def test_readers_and_assigned_technicians_read_the_history(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    asset = create_asset(client, team.owner, team.locale1)
    url = f"{API}/assets/{asset['id']}/status-history"
    assert client.get(url, headers=team.viewer.headers).status_code == 200
    assert client.get(url, headers=tech.headers).status_code == 404
    make_ticket(run, team.client_id, team.locale1, uuid.UUID(asset["id"]), technician_id=tech.id)
    response = client.get(url, headers=tech.headers)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


def _downtime(
    client: TestClient, team: Team, asset_id: uuid.UUID, start: datetime, end: datetime
) -> float:
    response = client.get(
        f"{API}/assets/{asset_id}/downtime",
        params={"from": start.isoformat(), "to": end.isoformat()},
        headers=team.owner.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"asset_id", "from", "to", "down_seconds"}
    seconds: float = body["down_seconds"]
    return seconds


def test_downtime_sums_down_periods_within_the_window(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = make_asset(run, team.client_id, team.locale1)
    h = timedelta(hours=1)
    add_status_change(run, asset, AssetStatus.operational, T0)
    add_status_change(run, asset, AssetStatus.down, T0 + 2 * h)
    add_status_change(run, asset, AssetStatus.maintenance, T0 + 5 * h)
    add_status_change(run, asset, AssetStatus.down, T0 + 10 * h)
    add_status_change(run, asset, AssetStatus.operational, T0 + 11 * h)
    assert _downtime(client, team, asset, T0, T0 + 24 * h) == 4 * 3600
    # Down since before the window: counted from its start.
    assert _downtime(client, team, asset, T0 + 3 * h, T0 + 24 * h) == 3 * 3600
    # The window ends while down: counted to its end.
    assert _downtime(client, team, asset, T0, T0 + 3 * h) == 3600
    assert _downtime(client, team, asset, T0 + 6 * h, T0 + 9 * h) == 0
    # Offsets are honoured: 00:30 at -03:00 is 03:30 UTC.
    start = datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-3)))
    assert _downtime(client, team, asset, start, T0 + 4 * h) == 30 * 60


def test_downtime_of_an_asset_still_down_counts_until_now(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = make_asset(run, team.client_id, team.locale1)
    now = datetime.now(UTC)
    add_status_change(run, asset, AssetStatus.down, now - timedelta(hours=2))
    seconds = _downtime(client, team, asset, now - timedelta(hours=3), now + timedelta(days=1))
    assert 2 * 3600 <= seconds < 2 * 3600 + 60
    assert _downtime(client, team, asset, now + timedelta(hours=1), now + timedelta(days=1)) == 0


def test_downtime_of_an_asset_created_down(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    before = datetime.now(UTC) - timedelta(minutes=1)
    asset = create_asset(client, team.owner, team.locale1, status="down")
    seconds = _downtime(client, team, uuid.UUID(asset["id"]), before, before + timedelta(days=1))
    assert 0 < seconds < 120


def test_downtime_window_must_be_valid(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = make_asset(run, team.client_id, team.locale1)
    url = f"{API}/assets/{asset}/downtime"
    for params in (
        {"from": T0.isoformat(), "to": T0.isoformat()},
        {"from": (T0 + timedelta(hours=1)).isoformat(), "to": T0.isoformat()},
        {"from": "2026-01-01T00:00:00", "to": "2026-01-02T00:00:00"},
        {"from": "yesterday", "to": T0.isoformat()},
        {"to": T0.isoformat()},
    ):
        response = client.get(url, params=params, headers=team.owner.headers)
        assert response.status_code == 422, params
