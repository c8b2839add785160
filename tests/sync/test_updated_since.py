"""``updated_since`` on the lists an app keeps, and the ETag of ``/auth/me``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import make_team

API = "/api/v1"

#: Every list an app keeps: each takes ``updated_since``.
SYNCED_LISTS = (
    ("/api/v1/tickets", "get"),
    ("/api/v1/tickets/{ticket_id}/tasks", "get"),
    ("/api/v1/tickets/{ticket_id}/attachments", "get"),
    ("/api/v1/assets", "get"),
    ("/api/v1/assets/{asset_id}/maintenance-plans", "get"),
    ("/api/v1/technicians/shifts", "get"),
    ("/api/v1/technicians/certifications", "get"),
    ("/api/v1/notifications", "get"),
)


@pytest.mark.parametrize(("path", "method"), SYNCED_LISTS)
def test_every_synced_list_takes_updated_since_as_an_instant(
    client: TestClient, path: str, method: str
) -> None:
    operation = client.get("/openapi.json").json()["paths"][path][method]
    [param] = [p for p in operation["parameters"] if p["name"] == "updated_since"]
    assert param["in"] == "query"
    [schema] = [s for s in param["schema"]["anyOf"] if s.get("type") == "string"]
    assert schema["format"] == "date-time"


def _ids(client: TestClient, account: Any, url: str, **params: Any) -> list[str]:
    response = client.get(url, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_updated_since_lists_the_tickets_changed_at_or_after_it(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    first = create_ticket(client, team.manager, team.locale1)
    second = create_ticket(client, team.manager, team.locale1)
    changed = client.patch(
        f"{API}/tickets/{first['id']}", json={"title": "Cambiado"}, headers=team.manager.headers
    ).json()
    since = second["updated_at"]
    assert sorted(_ids(client, team.owner, f"{API}/tickets", updated_since=since)) == sorted(
        [first["id"], second["id"]]
    )
    # Inclusive: the instant of the last change seen lists that object again.
    assert _ids(client, team.owner, f"{API}/tickets", updated_since=changed["updated_at"]) == [
        first["id"]
    ]


def test_updated_since_lists_the_tasks_changed_at_or_after_it(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.manager, team.locale1)
    url = f"{API}/tickets/{ticket['id']}/tasks"
    made = [
        client.post(url, json={"label": label}, headers=team.manager.headers).json()
        for label in ("Uno", "Dos")
    ]
    changed = client.patch(
        f"{url}/{made[0]['id']}", json={"label": "Uno bis"}, headers=team.manager.headers
    ).json()
    assert _ids(client, team.manager, url, updated_since=changed["updated_at"]) == [made[0]["id"]]
    assert len(_ids(client, team.manager, url, updated_since=made[0]["created_at"])) == 2


def test_updated_since_needs_an_offset(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.get(
        f"{API}/tickets",
        params={"updated_since": "2026-01-01T00:00:00"},
        headers=team.owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "updated_since"]


def test_me_answers_its_etag_and_304_while_it_holds(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.get(f"{API}/auth/me", headers=team.viewer.headers)
    tag = response.headers["ETag"]
    assert response.status_code == 200 and tag.startswith('"')
    again = client.get(f"{API}/auth/me", headers={**team.viewer.headers, "If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag
    changed = client.patch(
        f"{API}/users/{team.viewer.id}",
        json={"full_name": "Otra Persona"},
        headers=team.owner.headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = client.get(f"{API}/auth/me", headers={**team.viewer.headers, "If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != tag
