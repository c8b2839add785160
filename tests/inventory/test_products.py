"""The product catalogue: KER's platform items and each client's own."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from kerops.core.enums import ProductCategory
from tests.fixtures.assets import create_product, make_asset, make_bom_line, make_product
from tests.fixtures.factories import Runner, make_staff, register_owner
from tests.fixtures.tenancy import make_team, walk

API = "/api/v1"


def test_owner_manages_own_products(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    product = create_product(
        client, team.owner, sku="FIL-1", name="Filtro", price_minor=15000, cost_minor=9000
    )
    assert product["client_id"] == str(team.client_id)
    assert product["currency"] == "CLP" and product["is_active"] is True
    url = f"{API}/products/{product['id']}"
    response = client.patch(
        url, json={"price_minor": 0, "currency": "USD"}, headers=team.owner.headers
    )
    assert response.status_code == 200
    assert response.json()["price_minor"] == 0 and response.json()["currency"] == "USD"
    assert client.delete(url, headers=team.owner.headers).status_code == 204


def test_only_staff_write_the_platform_catalogue(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    staff = make_staff(client, run)
    kit = create_product(client, staff, sku="KIT-1", category="hardware_kit")
    assert kit["client_id"] is None
    url = f"{API}/products/{kit['id']}"
    for account in (team.owner, team.manager, team.viewer):
        assert client.get(url, headers=account.headers).status_code == 200
        assert client.patch(url, json={"name": "X"}, headers=account.headers).status_code == 403
        assert client.delete(url, headers=account.headers).status_code == 403
    # Members other than the owner add nothing.
    body = {"sku": "M-1", "name": "X", "category": "spare_part"}
    assert (
        client.post(f"{API}/products", json=body, headers=team.manager.headers).status_code == 403
    )
    # Staff may also fill a client's catalogue.
    own = create_product(client, staff, sku="C-1", client_id=str(team.client_id))
    assert own["client_id"] == str(team.client_id)


def test_owner_cannot_create_for_another_client(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    body = {"sku": "X-1", "name": "X", "category": "spare_part", "client_id": str(other.client_id)}
    response = client.post(f"{API}/products", json=body, headers=team.owner.headers)
    assert response.status_code == 404


def test_sku_is_unique_per_owner(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    staff = make_staff(client, run)
    create_product(client, team.owner, sku="SKU-1")
    create_product(client, other, sku="SKU-1")  # another client: fine
    create_product(client, staff, sku="SKU-1")  # the platform catalogue: fine
    body = {"sku": "SKU-1", "name": "X", "category": "spare_part"}
    for account in (team.owner, staff):
        response = client.post(f"{API}/products", json=body, headers=account.headers)
        assert response.status_code == 409
        assert response.json()["code"] == "sku_taken"
    second = create_product(client, team.owner, sku="SKU-2")
    response = client.patch(
        f"{API}/products/{second['id']}", json={"sku": "SKU-1"}, headers=team.owner.headers
    )
    assert response.status_code == 409


def test_bad_inputs_are_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    base = {"sku": "S-1", "name": "X", "category": "spare_part"}
    for extra in (
        {"price_minor": -1},
        {"cost_minor": -5},
        {"price_minor": 1.5},
        {"currency": "clp"},
        {"currency": "PESO"},
        {"category": "food"},
        {"sku": ""},
        {"sku": "with space"},
    ):
        response = client.post(
            f"{API}/products", json={**base, **extra}, headers=team.owner.headers
        )
        assert response.status_code == 422, extra


def test_list_shows_platform_and_own_products_with_filters(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    make_product(run, None, "KIT-1", "Kit Basico", category=ProductCategory.hardware_kit)
    make_product(run, team.client_id, "OWN-1", "Correa")
    make_product(run, team.client_id, "OWN-2", "Aceite")
    make_product(run, other.client_id, "OTH-1", "Ajeno")

    def skus(**params: Any) -> list[str]:
        items, _ = walk(client, team.viewer, f"{API}/products", **params)
        return [i["sku"] for i in items]

    assert skus() == ["OWN-2", "OWN-1", "KIT-1"]  # by name: Aceite, Correa, Kit Basico
    assert skus(sort="sku") == ["KIT-1", "OWN-1", "OWN-2"]
    assert skus(category="hardware_kit") == ["KIT-1"]
    assert skus(q="own-2") == ["OWN-2"]
    assert skus(q="correa") == ["OWN-1"]
    assert skus(is_active="false") == []
    unrelated = register_owner(client)
    items, _ = walk(client, unrelated, f"{API}/products")
    assert [i["sku"] for i in items] == ["KIT-1"]


def test_products_of_another_client_are_not_found(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    foreign = make_product(run, other.client_id)
    url = f"{API}/products/{foreign}"
    assert client.get(url, headers=team.owner.headers).status_code == 404
    assert client.patch(url, json={"name": "X"}, headers=team.owner.headers).status_code == 404
    assert client.delete(url, headers=team.owner.headers).status_code == 404


def test_delete_refused_while_a_parts_list_uses_it(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    product = make_product(run, team.client_id)
    asset = make_asset(run, team.client_id, team.locale1)
    make_bom_line(run, team.client_id, team.locale1, asset, product)
    response = client.delete(f"{API}/products/{product}", headers=team.owner.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "product_in_use"
    assert client.get(f"{API}/products/{product}", headers=team.owner.headers).status_code == 200
    assert uuid.UUID(str(product))
