"""Platform settings: staff only, typed values, create or replace, prefix filter."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kerops.core.enums import UserRole
from tests.fixtures.factories import Runner, make_staff, make_user, register_owner

URL = "/api/v1/settings"


def put(client: TestClient, headers: dict[str, str], key: str, body: dict[str, Any]) -> Any:
    return client.put(f"{URL}/{key}", json=body, headers=headers)


def test_put_creates_then_replaces(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    created = put(
        client,
        staff.headers,
        "tickets.default_sla_hours",
        {"value_type": "int", "value": 24, "description": "SLA"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"] == "tickets.default_sla_hours"
    assert (body["value_type"], body["value"], body["description"]) == ("int", 24, "SLA")

    replaced = put(
        client, staff.headers, "tickets.default_sla_hours", {"value_type": "float", "value": 12.5}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == body["id"]
    assert (replaced.json()["value_type"], replaced.json()["value"]) == ("float", 12.5)
    assert replaced.json()["description"] == ""

    fetched = client.get(f"{URL}/tickets.default_sla_hours", headers=staff.headers)
    assert fetched.status_code == 200 and fetched.json()["value"] == 12.5


MATCHING: list[tuple[str, Any]] = [
    ("string", "soporte@ker.cl"),
    ("string", ""),
    ("string", "  kept as given  "),
    ("int", 0),
    ("int", -5),
    ("float", 1.5),
    ("float", 3),
    ("bool", True),
    ("bool", False),
    ("json", {"a": [1, 2, {"b": None}]}),
    ("json", [1, "x"]),
    ("json", None),
    ("json", 7),
]
MISMATCHED: list[tuple[str, Any]] = [
    ("int", True),
    ("int", False),
    ("int", "3"),
    ("int", 3.5),
    ("int", None),
    ("float", "1.5"),
    ("float", True),
    ("float", None),
    ("bool", 1),
    ("bool", 0),
    ("bool", "true"),
    ("string", 3),
    ("string", None),
    ("string", ["a"]),
]


def test_values_of_their_type_are_accepted(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for index, (value_type, value) in enumerate(MATCHING):
        key = f"some.key{index}"
        response = put(client, staff.headers, key, {"value_type": value_type, "value": value})
        assert response.status_code == 201, (value_type, value, response.text)
        assert response.json()["value"] == value
        assert client.get(f"{URL}/{key}", headers=staff.headers).json()["value"] == value


def test_values_of_another_type_are_refused_with_a_field_error(
    client: TestClient, run: Runner
) -> None:
    staff = make_staff(client, run)
    for value_type, value in MISMATCHED:
        response = put(
            client, staff.headers, "some.key", {"value_type": value_type, "value": value}
        )
        assert response.status_code == 422, (value_type, value, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "value"]]
    assert client.get(f"{URL}/some.key", headers=staff.headers).status_code == 404


def test_non_finite_numbers_are_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for value_type, raw in (("float", "NaN"), ("json", '{"a": [Infinity]}')):
        response = client.put(
            f"{URL}/some.key",
            content=f'{{"value_type": "{value_type}", "value": {raw}}}',
            headers={**staff.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (value_type, response.text)


def test_unknown_value_type_and_fields_are_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    assert (
        put(client, staff.headers, "k.x", {"value_type": "date", "value": "x"}).status_code == 422
    )
    assert (
        put(client, staff.headers, "k.x", {"value_type": "int", "value": 1, "extra": 1}).status_code
        == 422
    )


def test_bad_keys_are_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for key in ["A.key", "1key", "k", "key with space", "k" * 121, "_key", "ké", "a/b"]:
        response = put(client, staff.headers, key, {"value_type": "int", "value": 1})
        assert response.status_code in (404, 422), (key, response.text)
    assert client.get(URL, headers=staff.headers).json()["items"] == []


def test_delete_removes_the_setting(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    put(client, staff.headers, "feature.flag", {"value_type": "bool", "value": True})
    assert client.delete(f"{URL}/feature.flag", headers=staff.headers).status_code == 204
    assert client.get(f"{URL}/feature.flag", headers=staff.headers).status_code == 404
    assert client.delete(f"{URL}/feature.flag", headers=staff.headers).status_code == 404


def test_list_filters_by_prefix_and_pages_in_key_order(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    keys = ["mail.from", "mail.reply_to", "mail_x", "mailbox", "sms.sender", "mail.a"]
    for key in keys:
        assert (
            put(client, staff.headers, key, {"value_type": "string", "value": key}).status_code
            == 201
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"prefix": "mail.", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(URL, params=params, headers=staff.headers).json()
        seen += [item["key"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["mail.a", "mail.from", "mail.reply_to"]
    # "_" in a prefix is a literal underscore, not a LIKE wildcard.
    underscore = client.get(URL, params={"prefix": "mail_"}, headers=staff.headers).json()
    assert [item["key"] for item in underscore["items"]] == ["mail_x"]
    assert client.get(URL, params={"prefix": "MAIL"}, headers=staff.headers).status_code == 422


def test_settings_are_staff_only(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    put(client, staff.headers, "feature.flag", {"value_type": "bool", "value": True})
    owner = register_owner(client)
    technician = make_user(client, run, role=UserRole.technician, client_id=owner.client_id)
    for account in (owner, technician):
        assert client.get(URL, headers=account.headers).status_code == 403
        assert client.get(f"{URL}/feature.flag", headers=account.headers).status_code == 403
        denied = put(
            client, account.headers, "feature.flag", {"value_type": "bool", "value": False}
        )
        assert denied.status_code == 403
        assert client.delete(f"{URL}/feature.flag", headers=account.headers).status_code == 403
    assert client.get(f"{URL}/feature.flag", headers=staff.headers).json()["value"] is True
    assert client.get(URL).status_code == 401
