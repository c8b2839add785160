"""Parts lists (bills of materials) of assets."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.conftest import QueryCounter
from tests.fixtures.assets import create_asset, make_asset, make_bom_line, make_product
from tests.fixtures.factories import Runner, register_owner
from tests.fixtures.tenancy import make_team, walk

API = "/api/v1"


def test_add_platform_and_own_products(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    platform = make_product(run, None, "KIT-1", "Kit sensor")
    own = make_product(run, team.client_id, "OWN-1", "Correa")
    url = f"{API}/assets/{asset['id']}/bom"
    for product, quantity in ((platform, 1), (own, 4)):
        body = {"product_id": str(product), "quantity": quantity, "notes": "n"}
        response = client.post(url, json=body, headers=team.manager.headers)
        assert response.status_code == 201, response.text
    items, _ = walk(client, team.viewer, url)
    assert [(i["product_sku"], i["product_name"], i["quantity"]) for i in items] == [
        ("KIT-1", "Kit sensor", 1),
        ("OWN-1", "Correa", 4),
    ]


def test_duplicate_product_is_a_conflict(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    product = make_product(run, team.client_id)
    url = f"{API}/assets/{asset['id']}/bom"
    body = {"product_id": str(product)}
    assert client.post(url, json=body, headers=team.owner.headers).status_code == 201
    response = client.post(url, json=body, headers=team.owner.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_part"


def test_foreign_product_is_not_found(client: TestClient, run: Runner) -> None:
    from tests.fixtures.factories import make_staff

    team = make_team(client, run)
    other = register_owner(client)
    foreign = make_product(run, other.client_id)
    asset = create_asset(client, team.owner, team.locale1)
    url = f"{API}/assets/{asset['id']}/bom"
    for account in (team.owner, make_staff(client, run)):
        response = client.post(url, json={"product_id": str(foreign)}, headers=account.headers)
        assert response.status_code == 404
    response = client.post(url, json={"product_id": str(uuid.uuid4())}, headers=team.owner.headers)
    assert response.status_code == 404


def test_bad_quantities_are_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    product = make_product(run, team.client_id)
    url = f"{API}/assets/{asset['id']}/bom"
    for quantity in (0, -1, 10**12, "many"):
        body = {"product_id": str(product), "quantity": quantity}
        assert client.post(url, json=body, headers=team.owner.headers).status_code == 422


def test_update_and_delete_a_line(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    product = make_product(run, team.client_id, "P-1", "Filtro")
    line = make_bom_line(run, team.client_id, team.locale1, uuid.UUID(asset["id"]), product)
    url = f"{API}/assets/{asset['id']}/bom/{line}"
    response = client.patch(url, json={"quantity": 3}, headers=team.manager.headers)
    assert response.status_code == 200
    assert response.json()["quantity"] == 3 and response.json()["product_sku"] == "P-1"
    assert client.patch(url, json={"quantity": None}, headers=team.owner.headers).status_code == 422
    # The line is addressed through its own asset only.
    other = create_asset(client, team.owner, team.locale1)
    wrong = f"{API}/assets/{other['id']}/bom/{line}"
    assert client.delete(wrong, headers=team.owner.headers).status_code == 404
    assert client.delete(url, headers=team.owner.headers).status_code == 204
    assert client.delete(url, headers=team.owner.headers).status_code == 404


def test_readers_cannot_change_the_parts_list(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    product = make_product(run, team.client_id)
    line = make_bom_line(run, team.client_id, team.locale1, uuid.UUID(asset["id"]), product)
    url = f"{API}/assets/{asset['id']}/bom"
    headers = team.viewer.headers
    assert client.get(url, headers=headers).status_code == 200
    assert client.post(url, json={"product_id": str(product)}, headers=headers).status_code == 403
    assert client.patch(f"{url}/{line}", json={"quantity": 2}, headers=headers).status_code == 403
    assert client.delete(f"{url}/{line}", headers=headers).status_code == 403
    assert client.get(url, headers=team.outsider.headers).status_code == 404


def test_list_costs_one_query_per_page(
    client: TestClient, run: Runner, queries: QueryCounter
) -> None:
    team = make_team(client, run)
    asset = make_asset(run, team.client_id, team.locale1)
    url = f"{API}/assets/{asset}/bom"

    def cost(n: int) -> int:
        for _ in range(n):
            make_bom_line(run, team.client_id, team.locale1, asset, make_product(run, None))
        with queries as q:
            response = client.get(url, params={"limit": 100}, headers=team.owner.headers)
        assert response.status_code == 200
        return q.count

    assert cost(3) == cost(20)
