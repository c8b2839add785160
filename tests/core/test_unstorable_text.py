"""Text no database column can hold (a NUL character, an unpaired surrogate) is refused with a
422, never a 500: in any request body before anything is written (the same on SQLite, which
would store it, as on PostgreSQL, which cannot), and where a query parameter or form field
carries it to PostgreSQL, as that database's refusal turned into a 422."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from kerops.core.schemas import InputModel
from tests.conftest import USE_PG
from tests.fixtures.factories import register_owner

VENDORS = "/api/v1/vendors"
BODY = {"name": "Climatización Sur SpA", "rut": "77.777.777-7"}


def _vendor_ids(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get(VENDORS, headers=headers)
    assert response.status_code == 200, response.text
    return {v["id"] for v in response.json()["items"]}


@pytest.mark.parametrize(
    "field, value",
    [
        ("name", "Climatización\x00Sur"),  # a field with no check of its own
        ("contact_name", "Ana\x00"),
    ],
)
def test_a_nul_in_a_body_is_refused_and_nothing_is_written(
    client: TestClient, field: str, value: str
) -> None:
    owner = register_owner(client)
    before = _vendor_ids(client, owner.headers)
    response = client.post(VENDORS, json={**BODY, field: value}, headers=owner.headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any(field in e["msg"] or field in e["loc"] for e in problem["errors"])
    assert _vendor_ids(client, owner.headers) == before
    assert client.post(VENDORS, json=BODY, headers=owner.headers).status_code == 201


def test_an_unpaired_surrogate_in_a_body_is_refused_at_its_field(client: TestClient) -> None:
    owner = register_owner(client)
    raw = '{"name": "Clima \\ud800", "rut": "77.777.777-7"}'  # valid JSON, not valid Unicode
    headers = {**owner.headers, "Content-Type": "application/json"}
    response = client.post(VENDORS, content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "name"]


def test_nested_text_is_checked_with_its_path() -> None:
    class Inner(InputModel):
        labels: list[str]

    class Outer(InputModel):
        inner: Inner
        notes: dict[str, Any]

    with pytest.raises(ValidationError) as nested:
        Outer.model_validate({"inner": {"labels": ["a", "b\x00"]}, "notes": {}})
    (error,) = nested.value.errors()
    assert error["loc"] == ("inner",) and "text at labels.1 " in error["msg"]
    with pytest.raises(ValidationError) as keyed:
        Outer.model_validate({"inner": {"labels": []}, "notes": {"k\x00": 1}})
    (error,) = keyed.value.errors()
    assert error["loc"] == () and "text at notes.k\x00 " in error["msg"]
    ok = Outer.model_validate({"inner": {"labels": ["ñandú", "日本"]}, "notes": {"a": ["x"]}})
    assert ok.inner.labels == ["ñandú", "日本"]


def test_a_nul_in_a_query_parameter_is_never_a_server_error(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.get(
        "/api/v1/audit-logs", params={"record_id": "a\x00b"}, headers=owner.headers
    )
    if USE_PG:  # PostgreSQL cannot compare text with a NUL: its refusal is the caller's 422
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "nul_character"
    else:  # SQLite can: nothing matches
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []


def test_a_nul_in_a_sign_in_form_is_never_a_server_error(client: TestClient) -> None:
    owner = register_owner(client)
    form = {"username": owner.email + "\x00", "password": "whatever-password"}
    response = client.post("/api/v1/auth/token", data=form)
    assert response.status_code == (422 if USE_PG else 401), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
