"""Isolation cases of the product catalogue, aimed at client A's own product."""

from __future__ import annotations

from typing import Any

from tests.assets.isolation_cases_assets import a_objects
from tests.isolation import Case, World

P = "/api/v1"
PRODUCT = "/products/{product_id}"


def _product(w: World) -> dict[str, Any]:
    return {"product_id": a_objects(w)["product"]}


def _existing(w: World) -> dict[str, Any]:
    a_objects(w)
    return {}


CASES = {
    # A product for A's client (only A's owner or staff may).
    ("POST", f"{P}/products"): Case(
        body=lambda w: {
            "client_id": str(w.a_owner.client_id),
            "sku": "X-1",
            "name": "Intruso",
            "category": "spare_part",
        },
    ),
    ("GET", f"{P}/products"): Case(params=_existing, kind="list"),
    ("GET", f"{P}{PRODUCT}"): Case(params=_product),
    ("PATCH", f"{P}{PRODUCT}"): Case(params=_product, body=lambda w: {"price_minor": 1}),
    ("DELETE", f"{P}{PRODUCT}"): Case(params=_product),
}
