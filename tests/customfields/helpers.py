"""Helpers of the custom-field tests: defining fields and making objects through the API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures.factories import Account

API = "/api/v1"
FIELDS = f"{API}/custom-fields"


def define(
    client: TestClient,
    account: Account,
    code: str,
    type_: str = "text",
    *,
    entity: str = "asset",
    **extra: Any,
) -> dict[str, Any]:
    """Define a field through the API (asserting success) and return it."""
    body = {"entity": entity, "code": code, "label": code.capitalize(), "type": type_, **extra}
    response = client.post(FIELDS, json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def define_all(client: TestClient, account: Account, entity: str = "asset") -> None:
    """One field of each type on ``entity``: ``note`` (text), ``capacity`` (number), ``since``
    (date), ``outdoor`` (boolean), ``color`` (choice of rojo, azul)."""
    define(client, account, "note", entity=entity, position=1)
    define(client, account, "capacity", "number", entity=entity, position=2)
    define(client, account, "since", "date", entity=entity, position=3)
    define(client, account, "outdoor", "boolean", entity=entity, position=4)
    define(
        client,
        account,
        "color",
        "choice",
        entity=entity,
        position=5,
        label="Color",
        choices=[{"code": "rojo", "label": "Rojo"}, {"code": "azul", "label": "Azul"}],
    )


def post_asset(
    client: TestClient, account: Account, locale_id: uuid.UUID | str, **fields: Any
) -> Any:
    """POST an asset (the response, whatever its status)."""
    body = {"name": f"Equipo {uuid.uuid4().hex[:6]}", "locale_id": str(locale_id), **fields}
    return client.post(f"{API}/assets", json=body, headers=account.headers)


def error_locs(response: Any) -> dict[tuple[Any, ...], str]:
    """The errors of a 422 answer: each ``loc`` with its ``type``."""
    assert response.status_code == 422, response.text
    return {tuple(error["loc"]): error["type"] for error in response.json()["errors"]}
