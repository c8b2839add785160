"""Isolation cases of the inventory's spreadsheets: an outsider's file naming A's warehouse or
A's own vendor changes nothing of A; the exports show nothing of A."""

from __future__ import annotations

import uuid
from typing import Any

from tests.assets.isolation_cases_assets import a_objects
from tests.fixtures.inventory import make_warehouse, receive
from tests.imports.helpers import csv_file
from tests.isolation import Case, World

P = "/api/v1"
A_WAREHOUSE_CODE = "A-CARGA"


def a_stock(w: World) -> dict[str, uuid.UUID]:
    """A's central warehouse holding some of A's product."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        product = a_objects(w)["product"]
        warehouse = make_warehouse(w.run, client_id, code=A_WAREHOUSE_CODE)
        receive(w.run, client_id, warehouse, product, 5)
        w.remember(warehouse)
        return {"warehouse": warehouse, "product": product}

    result: dict[str, uuid.UUID] = w.once("imports_a_stock", make)
    return result


def _stock_file(w: World) -> dict[str, Any]:
    """A's warehouse and SKU, set to zero."""
    a_stock(w)
    rows = [["Bodega", "SKU", "Existencia"], [A_WAREHOUSE_CODE, "A-SKU-1", "0"]]
    return {"file": ("existencias.csv", csv_file(rows, ";"), "text/csv")}


def _products_file(w: World) -> dict[str, Any]:
    """A new product whose preferred vendor is A's own contractor (by name)."""
    sku = f"P-{uuid.uuid4().hex[:8]}"
    rows = [
        ["SKU", "Nombre", "Categoría", "Proveedor preferido"],
        [sku, "Intruso", "repuesto", "A Private Contractor"],
    ]
    return {"file": ("productos.csv", csv_file(rows, ";"), "text/csv")}


def _existing(w: World) -> dict[str, Any]:
    a_stock(w)
    return {}


CASES = {
    # A real run: a row error (422: A's warehouse and vendor are unknown) or a refusal (403).
    ("POST", f"{P}/inventory/stock/import"): Case(
        files=_stock_file, form={"dry_run": "false"}, expect=frozenset({403, 422})
    ),
    ("POST", f"{P}/products/import"): Case(
        files=_products_file, form={"dry_run": "false"}, expect=frozenset({403, 422})
    ),
    ("GET", f"{P}/inventory/stock/export"): Case(params=_existing, kind="list"),
    ("GET", f"{P}/products/export"): Case(params=_existing, kind="list"),
}
