"""Helpers of the stores' tests: calls of the stores' routes as an account."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from tests.fixtures.factories import Account

API = "/api/v1"


def post(client: TestClient, account: Account, path: str, body: dict[str, Any]) -> Response:
    """POST a body to a route of the API as ``account``."""
    return client.post(f"{API}{path}", json=body, headers=account.headers)


def created(client: TestClient, account: Account, path: str, body: dict[str, Any]) -> Any:
    """POST a body and return the created object (asserting 201)."""
    response = post(client, account, path, body)
    assert response.status_code == 201, response.text
    return response.json()


def warehouse(client: TestClient, account: Account, code: str, **fields: Any) -> str:
    """A warehouse made through the API (a central store unless ``kind`` says otherwise)."""
    body = {"kind": "central", "code": code, "name": f"Bodega {code}", **fields}
    return str(created(client, account, "/warehouses", body)["id"])


def adjust(
    client: TestClient,
    account: Account,
    warehouse_id: Any,
    product_id: Any,
    quantity: Decimal | int | str,
    **fields: Any,
) -> Response:
    """An adjustment of a stock through the API."""
    body = {
        "warehouse_id": str(warehouse_id),
        "product_id": str(product_id),
        "quantity": str(quantity),
        "reason": "ajuste",
        **fields,
    }
    return post(client, account, "/inventory/adjustments", body)


def stock_of(client: TestClient, account: Account, warehouse_id: Any, product_id: Any) -> Any:
    """The stock row of a product in a warehouse as the API shows it (None when there is none)."""
    response = client.get(
        f"{API}/inventory/stock",
        params={"warehouse_id": str(warehouse_id), "product_id": str(product_id)},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


def ids(items: list[dict[str, Any]]) -> set[uuid.UUID]:
    """The ids of a page's items."""
    return {uuid.UUID(item["id"]) for item in items}
