"""Custom-field definitions: create, read, rights, change, archive and delete."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kerops.core.enums import ClientRole
from kerops.customfields.models import FieldEntity
from kerops.customfields.service import MAX_FIELDS_PER_ENTITY
from tests.customfields.helpers import FIELDS, define, error_locs, post_asset
from tests.customfields.isolation_cases import make_definition
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import make_team
from tests.isolation import client_wide


def test_owner_defines_a_field_and_everyone_of_the_client_reads_it(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    body = define(
        client,
        team.owner,
        "color",
        "choice",
        choices=["Rojo Ácido", {"code": "az", "label": "Azul"}],
    )
    assert body["client_id"] == str(team.owner.client_id)
    assert body["choices"] == [
        {"code": "rojo-acido", "label": "Rojo Ácido"},
        {"code": "az", "label": "Azul"},
    ]
    assert body["is_active"] is True and body["required"] is False
    for reader in (team.manager, team.requester, team.viewer):
        listed = client.get(FIELDS, headers=reader.headers)
        assert listed.status_code == 200
        assert [item["code"] for item in listed.json()["items"]] == ["color"]
        one = client.get(f"{FIELDS}/{body['id']}", headers=reader.headers)
        assert one.status_code == 200 and one.json()["label"] == "Color"


def test_list_filters_by_entity_and_sorts_by_position(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "b", position=2)
    define(client, team.owner, "a", position=5)
    define(client, team.owner, "t", entity="ticket")
    items = client.get(FIELDS, params={"entity": "asset"}, headers=team.owner.headers).json()
    assert [item["code"] for item in items["items"]] == ["b", "a"]
    items = client.get(FIELDS, params={"entity": "ticket"}, headers=team.owner.headers).json()
    assert [item["code"] for item in items["items"]] == ["t"]


def test_managers_requesters_and_client_wide_managers_may_not_define(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    assert team.owner.client_id is not None
    wide = client_wide(client, run, team.owner.client_id, ClientRole.manager)
    field = define(client, team.owner, "color")
    body = {"entity": "asset", "code": "x", "label": "X", "type": "text"}
    for account in (team.manager, team.requester, wide):
        response = client.post(FIELDS, json=body, headers=account.headers)
        assert response.status_code == 403, response.text
        patched = client.patch(
            f"{FIELDS}/{field['id']}", json={"label": "Otro"}, headers=account.headers
        )
        assert patched.status_code == 403
        assert client.delete(f"{FIELDS}/{field['id']}", headers=account.headers).status_code == 403


def test_a_client_admin_defines(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert team.owner.client_id is not None
    admin = client_wide(client, run, team.owner.client_id, ClientRole.admin)
    assert define(client, admin, "serie")["client_id"] == str(team.owner.client_id)


def test_another_clients_fields_are_invisible(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = make_team(client, run)
    field = define(client, team.owner, "color")
    listed = client.get(FIELDS, headers=other.owner.headers).json()
    assert listed["items"] == []
    assert client.get(f"{FIELDS}/{field['id']}", headers=other.owner.headers).status_code == 404
    patched = client.patch(
        f"{FIELDS}/{field['id']}", json={"label": "X"}, headers=other.owner.headers
    )
    assert patched.status_code == 404
    # The other client's asset cannot use the code either.
    response = post_asset(client, other.owner, other.locale1, custom_fields={"color": "rojo"})
    assert error_locs(response) == {("body", "custom_fields", "color"): "unknown_custom_field"}


def test_a_code_is_unique_per_client_and_entity(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "color")
    again = client.post(
        FIELDS,
        json={"entity": "asset", "code": "color", "label": "Otro", "type": "text"},
        headers=team.owner.headers,
    )
    assert again.status_code == 409 and again.json()["code"] == "custom_field_code_taken"
    define(client, team.owner, "color", entity="ticket")  # another entity: fine


def test_choices_belong_to_choice_fields_only(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    base = {"entity": "asset", "code": "c", "label": "C"}
    for body in (
        {**base, "type": "choice"},
        {**base, "type": "choice", "choices": []},
        {**base, "type": "text", "choices": ["a"]},
        {**base, "type": "choice", "choices": ["a", "a"]},
        {**base, "type": "color"},
        {**base, "type": "text", "code": "Con Espacios"},
    ):
        response = client.post(FIELDS, json=body, headers=team.owner.headers)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"


def test_type_of_a_field_in_use_cannot_change(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    field = define(client, team.owner, "capacity", "number")
    unused = define(client, team.owner, "other", "number")
    assert (
        post_asset(client, team.owner, team.locale1, custom_fields={"capacity": 5}).status_code
        == 201
    )
    url = f"{FIELDS}/{field['id']}"
    response = client.patch(url, json={"type": "text"}, headers=team.owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "custom_field_in_use"
    assert client.get(url, headers=team.owner.headers).json()["type"] == "number"
    changed = client.patch(
        f"{FIELDS}/{unused['id']}",
        json={"type": "choice", "choices": ["a"]},
        headers=team.owner.headers,
    )
    assert changed.status_code == 200 and changed.json()["type"] == "choice"
    missing = client.patch(
        f"{FIELDS}/{unused['id']}", json={"choices": []}, headers=team.owner.headers
    )
    assert missing.status_code == 422


def test_a_field_in_use_is_archived_not_deleted(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    field = define(client, team.owner, "color", required=True)
    asset = post_asset(client, team.owner, team.locale1, custom_fields={"color": "rojo"}).json()
    url = f"{FIELDS}/{field['id']}"
    refused = client.delete(url, headers=team.owner.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "custom_field_in_use"
    archived = client.patch(url, json={"is_active": False}, headers=team.owner.headers)
    assert archived.status_code == 200 and archived.json()["is_active"] is False
    # The value is kept; the field is no longer required.
    again = client.get(f"/api/v1/assets/{asset['id']}", headers=team.owner.headers).json()
    assert again["custom_fields"] == {"color": "rojo"}
    assert post_asset(client, team.owner, team.locale1).status_code == 201
    listed = client.get(FIELDS, params={"is_active": "false"}, headers=team.owner.headers)
    assert [item["code"] for item in listed.json()["items"]] == ["color"]


def test_an_unused_field_is_deleted(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    field = define(client, team.owner, "color")
    url = f"{FIELDS}/{field['id']}"
    assert client.delete(url, headers=team.owner.headers).status_code == 204
    assert client.get(url, headers=team.owner.headers).status_code == 404


def test_a_client_defines_at_most_fifty_fields_per_entity(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert team.owner.client_id is not None
    for number in range(MAX_FIELDS_PER_ENTITY):
        make_definition(run, team.owner.client_id, f"f{number}")
    body = {"entity": "asset", "code": "extra", "label": "Extra", "type": "text"}
    response = client.post(FIELDS, json=body, headers=team.owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "custom_field_limit"
    make_definition(run, team.owner.client_id, "t0", entity=FieldEntity.ticket)
    assert (
        client.post(
            FIELDS, json={**body, "entity": "ticket"}, headers=team.owner.headers
        ).status_code
        == 201
    )
