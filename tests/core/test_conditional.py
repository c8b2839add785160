"""Versions of objects (ETag, If-Match, If-None-Match) and the query parameters a route takes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket, move
from tests.fixtures.tenancy import make_team

API = "/api/v1"


def test_a_ticket_has_an_etag_that_changes_with_it(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.owner, team.locale1)
    url = f"{API}/tickets/{ticket['id']}"
    first = client.get(url, headers=team.owner.headers)
    tag = first.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert client.get(url, headers=team.owner.headers).headers["ETag"] == tag
    changed = client.patch(url, json={"title": "Otro"}, headers=team.owner.headers)
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] != tag
    assert client.get(url, headers=team.owner.headers).headers["ETag"] == changed.headers["ETag"]


def test_if_none_match_answers_304_while_current(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.owner, team.locale1)
    url = f"{API}/tickets/{ticket['id']}"
    tag = client.get(url, headers=team.owner.headers).headers["ETag"]
    cached = client.get(url, headers={**team.owner.headers, "If-None-Match": tag})
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["ETag"] == tag
    other = client.get(url, headers={**team.owner.headers, "If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.json()["id"] == ticket["id"]


def test_a_stale_if_match_is_412_with_the_current_etag(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.owner, team.locale1)
    url = f"{API}/tickets/{ticket['id']}"
    old = client.get(url, headers=team.owner.headers).headers["ETag"]
    client.patch(url, json={"title": "Primero"}, headers=team.owner.headers)
    current = client.get(url, headers=team.owner.headers).headers["ETag"]
    stale = client.patch(
        url, json={"title": "Segundo"}, headers={**team.owner.headers, "If-Match": old}
    )
    assert stale.status_code == 412, stale.text
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["code"] == "precondition_failed"
    assert stale.headers["ETag"] == current
    assert client.get(url, headers=team.owner.headers).json()["title"] == "Primero"
    fresh = client.patch(
        url, json={"title": "Segundo"}, headers={**team.owner.headers, "If-Match": current}
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["title"] == "Segundo"


def test_a_transition_honours_if_match(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.owner, team.locale1)
    url = f"{API}/tickets/{ticket['id']}"
    tag = client.get(url, headers=team.owner.headers).headers["ETag"]
    client.patch(url, json={"title": "Cambio"}, headers=team.owner.headers)
    body = {"to_status": "cancelled", "comment": "duplicado"}
    stale = client.post(
        f"{url}/transitions", json=body, headers={**team.owner.headers, "If-Match": tag}
    )
    assert stale.status_code == 412, stale.text
    assert client.get(url, headers=team.owner.headers).json()["status"] == "open"
    tag = client.get(url, headers=team.owner.headers).headers["ETag"]
    moved = client.post(
        f"{url}/transitions", json=body, headers={**team.owner.headers, "If-Match": tag}
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["ETag"] != tag


def test_if_match_star_weak_and_malformed(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.owner, team.locale1)
    url = f"{API}/tickets/{ticket['id']}"
    tag = client.get(url, headers=team.owner.headers).headers["ETag"]
    weak = client.patch(
        url, json={"title": "A"}, headers={**team.owner.headers, "If-Match": f"W/{tag}"}
    )
    assert weak.status_code == 412  # If-Match compares strongly: a weak tag never matches
    listed = client.patch(
        url, json={"title": "A"}, headers={**team.owner.headers, "If-Match": f'"x", {tag}'}
    )
    assert listed.status_code == 200, listed.text
    star = client.patch(url, json={"title": "B"}, headers={**team.owner.headers, "If-Match": "*"})
    assert star.status_code == 200, star.text
    bad = client.patch(url, json={"title": "C"}, headers={**team.owner.headers, "If-Match": "abc"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_if_match"
    missing = client.patch(
        f"{API}/tickets/0190a0a0-0000-7000-8000-000000000000",
        json={"title": "C"},
        headers={**team.owner.headers, "If-Match": "*"},
    )
    assert missing.status_code == 404


def test_a_delete_honours_if_match(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    url = f"{API}/locales/{team.locale2}"
    tag = client.get(url, headers=team.owner.headers).headers["ETag"]
    client.patch(url, json={"name": "Local Dos bis"}, headers=team.owner.headers)
    stale = client.delete(url, headers={**team.owner.headers, "If-Match": tag})
    assert stale.status_code == 412, stale.text
    assert client.get(url, headers=team.owner.headers).status_code == 200


def test_an_unknown_query_parameter_is_422_naming_it(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    create_ticket(client, team.owner, team.locale1)
    response = client.get(
        f"{API}/tickets",
        params={"source": "scan", "colour": "red", "limit": 5},
        headers=team.owner.headers,
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [e["loc"] for e in problem["errors"]] == [["query", "source"], ["query", "colour"]]
    assert {e["type"] for e in problem["errors"]} == {"unknown_parameter"}
    assert "source" in problem["detail"]
    ok = client.get(f"{API}/tickets", params={"limit": 5}, headers=team.owner.headers)
    assert ok.status_code == 200
    assert move(client, team.owner, ok.json()["items"][0]["id"], "cancelled").status_code in {
        200,
        422,
    }
