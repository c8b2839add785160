"""The ``field`` filter of the lists of assets, tickets and locales."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.customfields.helpers import API, define, define_all, post_asset
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import Team, create_locale, make_team


def _assets(client: TestClient, team: Team) -> dict[str, str]:
    define_all(client, team.owner)
    rows: dict[str, dict[str, Any]] = {
        "a": {
            "note": "norte",
            "capacity": 5,
            "since": "2025-01-10",
            "outdoor": True,
            "color": "rojo",
        },
        "b": {
            "note": "sur",
            "capacity": 12.5,
            "since": "2026-06-01",
            "outdoor": False,
            "color": "azul",
        },
        "c": {"note": "Norte", "capacity": 20, "since": "2026-12-31", "color": "rojo"},
        "d": {},
    }
    names = {}
    for name, values in rows.items():
        response = post_asset(client, team.owner, team.locale1, name=name, custom_fields=values)
        assert response.status_code == 201, response.text
        names[response.json()["id"]] = name
    return names


def _names(client: TestClient, team: Team, path: str, *filters: str) -> list[str]:
    response = client.get(
        f"{API}/{path}", params={"field": list(filters), "limit": 200}, headers=team.manager.headers
    )
    assert response.status_code == 200, response.text
    key = "title" if path == "tickets" else "name"
    return sorted(item[key] for item in response.json()["items"])


def test_assets_filter_by_each_type(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    _assets(client, team)
    assert _names(client, team, "assets", "note:norte") == ["a"]  # text: exact
    assert _names(client, team, "assets", "color:rojo") == ["a", "c"]
    assert _names(client, team, "assets", "outdoor:true") == ["a"]
    assert _names(client, team, "assets", "outdoor:false") == ["b"]
    assert _names(client, team, "assets", "capacity:12.5") == ["b"]
    assert _names(client, team, "assets", "capacity:5") == ["a"]
    assert _names(client, team, "assets", "capacity:>=10") == ["b", "c"]
    assert _names(client, team, "assets", "capacity:>=6", "capacity:<=15") == ["b"]
    assert _names(client, team, "assets", "since:2026-06-01") == ["b"]
    assert _names(client, team, "assets", "since:>=2026-01-01") == ["b", "c"]
    assert _names(client, team, "assets", "since:<=2026-06-01") == ["a", "b"]
    assert _names(client, team, "assets", "color:rojo", "capacity:>=10") == ["c"]


def test_a_filter_pages_through_its_rows(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    _assets(client, team)
    first = client.get(
        f"{API}/assets", params={"field": "color:rojo", "limit": 1}, headers=team.owner.headers
    ).json()
    second = client.get(
        f"{API}/assets",
        params={"field": "color:rojo", "limit": 1, "cursor": first["next_cursor"]},
        headers=team.owner.headers,
    ).json()
    assert [first["items"][0]["name"], second["items"][0]["name"]] == ["a", "c"]
    assert second["next_cursor"] is None


def test_bad_filters_are_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define_all(client, team.owner)
    for value, kind in (
        ("nope:1", "unknown_custom_field"),
        ("capacity:diez", "custom_field_type"),
        ("since:mañana", "custom_field_type"),
        ("outdoor:quizás", "custom_field_type"),
        ("color:verde", "custom_field_choice"),
        ("note:>=a", "custom_field_operator"),
        ("color:<=rojo", "custom_field_operator"),
    ):
        response = client.get(f"{API}/assets", params={"field": value}, headers=team.owner.headers)
        assert response.status_code == 422, value
        [error] = response.json()["errors"]
        assert (tuple(error["loc"]), error["type"]) == (("query", "field"), kind), value
    for value in ("sin-dos-puntos", "Mayus:1", ""):
        response = client.get(f"{API}/assets", params={"field": value}, headers=team.owner.headers)
        assert response.status_code == 422, value


def test_another_clients_field_is_unknown(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = make_team(client, run)
    define(client, other.owner, "color")
    response = client.get(f"{API}/assets", params={"field": "color:x"}, headers=team.owner.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "unknown_custom_field"


def test_tickets_filter_by_their_fields(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "origin", "choice", entity="ticket", choices=["Cliente", "Ronda"])
    define(client, team.owner, "urgent", "boolean", entity="ticket")
    define(client, team.owner, "due", "date", entity="ticket")
    define(client, team.owner, "hours", "number", entity="ticket")
    for title, values in (
        ("t1", {"origin": "ronda", "urgent": True, "due": "2026-01-05", "hours": 1}),
        ("t2", {"origin": "cliente", "urgent": False, "due": "2026-02-05", "hours": 8}),
        ("t3", {}),
    ):
        create_ticket(client, team.owner, team.locale1, title=title, custom_fields=values)
    assert _names(client, team, "tickets", "origin:ronda") == ["t1"]
    assert _names(client, team, "tickets", "urgent:false") == ["t2"]
    assert _names(client, team, "tickets", "due:>=2026-02-01") == ["t2"]
    assert _names(client, team, "tickets", "hours:<=4") == ["t1"]
    assert _names(client, team, "tickets", "hours:8", "urgent:false") == ["t2"]
    sorted_by_priority = client.get(
        f"{API}/tickets",
        params={"field": "origin:cliente", "sort": "-priority"},
        headers=team.owner.headers,
    )
    assert [item["title"] for item in sorted_by_priority.json()["items"]] == ["t2"]


def test_locales_filter_by_their_fields(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "zona", entity="locale")
    define(client, team.owner, "m2", "number", entity="locale")
    create_locale(client, team.owner, name="L1", custom_fields={"zona": "Oriente", "m2": 100})
    create_locale(client, team.owner, name="L2", custom_fields={"zona": "Poniente", "m2": 300})
    response = client.get(
        f"{API}/locales", params={"field": ["zona:Oriente"]}, headers=team.owner.headers
    )
    assert [item["name"] for item in response.json()["items"]] == ["L1"]
    response = client.get(
        f"{API}/locales", params={"field": "m2:>=200"}, headers=team.owner.headers
    )
    assert [item["name"] for item in response.json()["items"]] == ["L2"]
