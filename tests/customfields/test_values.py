"""Custom-field values on assets, tickets and locales: checked on every write, shown on read."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.customfields.helpers import API, define, define_all, error_locs, post_asset
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import create_locale, make_team

CF = ("body", "custom_fields")


def test_values_of_each_type_are_kept_normalised(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define_all(client, team.owner)
    values = {"note": "Sala  norte", "capacity": 10.0, "since": "2026-03-02", "outdoor": True}
    response = post_asset(
        client, team.owner, team.locale1, custom_fields={**values, "color": "azul"}
    )
    assert response.status_code == 201, response.text
    expected = {
        "note": "Sala  norte",
        "capacity": 10,
        "since": "2026-03-02",
        "outdoor": True,
        "color": "azul",
    }
    assert response.json()["custom_fields"] == expected
    read = client.get(f"{API}/assets/{response.json()['id']}", headers=team.manager.headers)
    assert read.json()["custom_fields"] == expected
    listed = client.get(f"{API}/assets", headers=team.manager.headers).json()["items"]
    assert listed[0]["custom_fields"] == expected
    fraction = post_asset(client, team.owner, team.locale1, custom_fields={"capacity": 2.5})
    assert fraction.json()["custom_fields"] == {"capacity": 2.5}


def test_objects_without_values_read_an_empty_dict(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = post_asset(client, team.owner, team.locale1).json()
    assert asset["custom_fields"] == {}
    assert create_locale(client, team.owner)["custom_fields"] == {}
    assert create_ticket(client, team.owner, team.locale1)["custom_fields"] == {}


def test_an_unknown_code_is_refused_by_name(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "note")
    response = post_asset(client, team.owner, team.locale1, custom_fields={"nope": "x"})
    assert error_locs(response) == {(*CF, "nope"): "unknown_custom_field"}
    assert client.get(f"{API}/assets", headers=team.owner.headers).json()["items"] == []


def test_wrong_types_are_refused_field_by_field(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define_all(client, team.owner)
    bad: dict[str, Any] = {
        "note": 12,
        "capacity": "diez",
        "since": "02-03-2026",
        "outdoor": "yes",
        "color": True,
    }
    response = post_asset(client, team.owner, team.locale1, custom_fields=bad)
    assert error_locs(response) == {(*CF, code): "custom_field_type" for code in bad}


def test_numbers_booleans_and_dates_out_of_range_are_refused(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    define_all(client, team.owner)
    for values, kind in (
        ({"capacity": 10**16}, "custom_field_range"),
        ({"capacity": True}, "custom_field_type"),
        ({"since": "1800-01-01"}, "date_out_of_range"),
        ({"since": "2026-02-30"}, "custom_field_type"),
    ):
        response = post_asset(client, team.owner, team.locale1, custom_fields=values)
        [code] = values
        assert error_locs(response) == {(*CF, code): kind}


def test_a_choice_outside_the_list_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define_all(client, team.owner)
    response = post_asset(client, team.owner, team.locale1, custom_fields={"color": "Rojo"})
    assert error_locs(response) == {(*CF, "color"): "custom_field_choice"}


def test_required_fields_are_asked_for_on_create_only(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "serie", required=True)
    define(client, team.owner, "note")
    missing = post_asset(client, team.owner, team.locale1, custom_fields={"note": "x"})
    assert error_locs(missing) == {(*CF, "serie"): "custom_field_required"}
    empty = post_asset(client, team.owner, team.locale1, custom_fields={"serie": ""})
    assert error_locs(empty) == {(*CF, "serie"): "custom_field_required"}
    created = post_asset(client, team.owner, team.locale1, custom_fields={"serie": "A1"})
    assert created.status_code == 201
    url = f"{API}/assets/{created.json()['id']}"
    # A change that leaves the field alone is fine; clearing it is not.
    assert client.patch(url, json={"name": "Otro"}, headers=team.owner.headers).status_code == 200
    cleared = client.patch(url, json={"custom_fields": {"serie": None}}, headers=team.owner.headers)
    assert error_locs(cleared) == {(*CF, "serie"): "custom_field_required"}
    assert client.get(url, headers=team.owner.headers).json()["custom_fields"] == {"serie": "A1"}


def test_a_change_merges_values_and_null_clears_one(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define_all(client, team.owner)
    asset = post_asset(
        client, team.owner, team.locale1, custom_fields={"note": "x", "capacity": 3}
    ).json()
    url = f"{API}/assets/{asset['id']}"
    response = client.patch(
        url,
        json={"custom_fields": {"capacity": None, "outdoor": False}},
        headers=team.manager.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["custom_fields"] == {"note": "x", "outdoor": False}
    bad = client.patch(url, json={"custom_fields": {"outdoor": 1}}, headers=team.owner.headers)
    assert error_locs(bad) == {(*CF, "outdoor"): "custom_field_type"}
    assert (
        client.patch(url, json={"custom_fields": None}, headers=team.owner.headers).status_code
        == 422
    )


def test_an_archived_field_keeps_its_value_which_cannot_change(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    field = define(client, team.owner, "serie", required=True)
    asset = post_asset(client, team.owner, team.locale1, custom_fields={"serie": "A1"}).json()
    client.patch(
        f"{API}/custom-fields/{field['id']}", json={"is_active": False}, headers=team.owner.headers
    )
    url = f"{API}/assets/{asset['id']}"
    same = client.patch(url, json={"custom_fields": {"serie": "A1"}}, headers=team.owner.headers)
    assert same.status_code == 200
    changed = client.patch(url, json={"custom_fields": {"serie": "B2"}}, headers=team.owner.headers)
    assert error_locs(changed) == {(*CF, "serie"): "custom_field_archived"}


def test_tickets_take_their_own_fields(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "color", entity="asset")
    define(
        client,
        team.owner,
        "origin",
        "choice",
        entity="ticket",
        choices=["Cliente", "Ronda"],
        required=True,
    )
    body = {"title": "Falla", "locale_id": str(team.locale1)}
    missing = client.post(f"{API}/tickets", json=body, headers=team.requester.headers)
    assert error_locs(missing) == {(*CF, "origin"): "custom_field_required"}
    asset_code = client.post(
        f"{API}/tickets",
        json={**body, "custom_fields": {"origin": "ronda", "color": "x"}},
        headers=team.requester.headers,
    )
    assert error_locs(asset_code) == {(*CF, "color"): "unknown_custom_field"}
    ticket = create_ticket(client, team.requester, team.locale1, custom_fields={"origin": "ronda"})
    assert ticket["custom_fields"] == {"origin": "ronda"}
    url = f"{API}/tickets/{ticket['id']}"
    changed = client.patch(
        url, json={"custom_fields": {"origin": "cliente"}}, headers=team.manager.headers
    )
    assert changed.status_code == 200 and changed.json()["custom_fields"] == {"origin": "cliente"}
    bad = client.patch(url, json={"custom_fields": {"origin": "otro"}}, headers=team.owner.headers)
    assert error_locs(bad) == {(*CF, "origin"): "custom_field_choice"}


def test_locales_take_their_own_fields(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "m2", "number", entity="locale", required=True)
    missing = client.post(f"{API}/locales", json={"name": "Local X"}, headers=team.owner.headers)
    assert error_locs(missing) == {(*CF, "m2"): "custom_field_required"}
    locale = create_locale(client, team.owner, custom_fields={"m2": 120})
    assert locale["custom_fields"] == {"m2": 120}
    url = f"{API}/locales/{locale['id']}"
    bad = client.patch(url, json={"custom_fields": {"m2": "mucho"}}, headers=team.owner.headers)
    assert error_locs(bad) == {(*CF, "m2"): "custom_field_type"}
    good = client.patch(url, json={"custom_fields": {"m2": 99.5}}, headers=team.owner.headers)
    assert good.json()["custom_fields"] == {"m2": 99.5}
