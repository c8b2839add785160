"""Local areas: nesting within one locale, no cycles, a depth cap, filters, pagination."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from kerops.tenancy.repository import MAX_AREA_DEPTH
from tests.fixtures.factories import Runner, make_area, make_locale, register_owner
from tests.fixtures.tenancy import API, Team, create_area, make_team, walk


def areas_url(locale_id: uuid.UUID | str) -> str:
    return f"{API}/locales/{locale_id}/areas"


def chain(client: TestClient, team: Team, length: int) -> list[dict[str, Any]]:
    """``length`` areas of locale 1, each under the previous one."""
    made: list[dict[str, Any]] = []
    for i in range(length):
        parent = {"parent_id": made[-1]["id"]} if made else {}
        made.append(create_area(client, team.owner, team.locale1, name=f"Nivel {i}", **parent))
    return made


def move(client: TestClient, team: Team, area: dict[str, Any], parent_id: Any) -> Any:
    return client.patch(
        f"{areas_url(team.locale1)}/{area['id']}",
        json={"parent_id": parent_id},
        headers=team.owner.headers,
    )


def test_owner_creates_nested_areas(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    floor = create_area(client, team.owner, team.locale1, name="Piso 1", kind="floor")
    room = create_area(
        client, team.owner, team.locale1, name="Sala 101", kind="room", parent_id=floor["id"]
    )
    assert floor["parent_id"] is None and floor["kind"] == "floor"
    assert room["parent_id"] == floor["id"] and room["locale_id"] == str(team.locale1)
    assert room["client_id"] == str(team.client_id)
    assert create_area(client, team.owner, team.locale1)["kind"] == "zone"


def test_manager_writes_areas_of_own_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = create_area(client, team.manager, team.locale1, name="Bodega")
    url = f"{areas_url(team.locale1)}/{area['id']}"
    response = client.patch(url, json={"description": "Fría"}, headers=team.manager.headers)
    assert response.status_code == 200 and response.json()["description"] == "Fría"
    assert client.delete(url, headers=team.manager.headers).status_code == 204


def test_bad_kind_is_422(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.post(
        areas_url(team.locale1), json={"name": "X", "kind": "basement"}, headers=team.owner.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "kind"]


def test_parent_in_another_locale_of_the_client_is_422(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    elsewhere = create_area(client, team.owner, team.locale2)
    response = client.post(
        areas_url(team.locale1),
        json={"name": "X", "parent_id": elsewhere["id"]},
        headers=team.owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "parent_id"]
    area = create_area(client, team.owner, team.locale1)
    assert move(client, team, area, elsewhere["id"]).status_code == 422


def test_parent_of_another_client_or_unknown_is_404(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    stranger = register_owner(client)
    assert stranger.client_id is not None
    foreign_locale = make_locale(run, stranger.client_id)
    foreign_area = make_area(run, stranger.client_id, foreign_locale)
    for parent in (foreign_area, uuid.uuid4()):
        response = client.post(
            areas_url(team.locale1),
            json={"name": "X", "parent_id": str(parent)},
            headers=team.owner.headers,
        )
        assert response.status_code == 404
        assert str(parent) not in response.text


def test_manager_cannot_use_parent_of_a_locale_they_do_not_manage(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    elsewhere = create_area(client, team.owner, team.locale2)
    response = client.post(
        areas_url(team.locale1),
        json={"name": "X", "parent_id": elsewhere["id"]},
        headers=team.manager.headers,
    )
    assert response.status_code == 404


def test_moving_an_area_under_its_descendant_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    a, b, c = chain(client, team, 3)
    response = move(client, team, a, c["id"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "area_cycle"
    assert move(client, team, a, b["id"]).status_code == 422
    assert move(client, team, a, a["id"]).status_code == 422
    # the tree did not change
    body = client.get(f"{areas_url(team.locale1)}/{a['id']}", headers=team.owner.headers).json()
    assert body["parent_id"] is None


def test_moving_areas_within_the_tree(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    a, b, c = chain(client, team, 3)
    other = create_area(client, team.owner, team.locale1, name="Otra")
    assert move(client, team, c, None).json()["parent_id"] is None
    moved = move(client, team, b, other["id"])
    assert moved.status_code == 200 and moved.json()["parent_id"] == other["id"]
    assert move(client, team, a, c["id"]).status_code == 200  # c is no longer under a


def test_depth_is_capped(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    made = chain(client, team, MAX_AREA_DEPTH)
    response = client.post(
        areas_url(team.locale1),
        json={"name": "Demasiado", "parent_id": made[-1]["id"]},
        headers=team.owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "area_too_deep"
    # a two-level subtree may not be hung below level 11 either
    top = create_area(client, team.owner, team.locale1, name="Raíz")
    create_area(client, team.owner, team.locale1, name="Hoja", parent_id=top["id"])
    assert move(client, team, top, made[-2]["id"]).status_code == 422
    assert move(client, team, top, made[-3]["id"]).status_code == 200


def test_filters(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    floor = create_area(client, team.owner, team.locale1, name="Piso 2", kind="floor", code="P2")
    room = create_area(
        client, team.owner, team.locale1, name="Baño", kind="room", parent_id=floor["id"]
    )
    zone = create_area(client, team.owner, team.locale1, name="Estacionamiento")
    create_area(client, team.owner, team.locale2, name="Piso 2 del otro")

    def ids(**params: Any) -> set[str]:
        response = client.get(areas_url(team.locale1), params=params, headers=team.owner.headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert ids() == {floor["id"], room["id"], zone["id"]}
    assert ids(root=True) == {floor["id"], zone["id"]}
    assert ids(root=False) == {room["id"]}
    assert ids(parent_id=floor["id"]) == {room["id"]}
    assert ids(kind="room") == {room["id"]}
    assert ids(q="piso") == {floor["id"]}
    assert ids(q="p2") == {floor["id"]}
    bad = client.get(areas_url(team.locale1), params={"kind": "x"}, headers=team.owner.headers)
    assert bad.status_code == 422


def test_keyset_pagination_walks_every_area_once(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    created = {
        create_area(client, team.owner, team.locale1, name=f"Zona {i % 4}")["id"] for i in range(11)
    }
    for sort in ("name", "-created_at"):
        items, pages = walk(client, team.owner, areas_url(team.locale1), limit=4, sort=sort)
        seen = [item["id"] for item in items]
        assert pages == 3
        assert len(seen) == len(set(seen)) == 11
        assert set(seen) == created


def test_area_is_reached_only_through_its_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = create_area(client, team.owner, team.locale1)
    wrong = f"{areas_url(team.locale2)}/{area['id']}"
    assert client.get(wrong, headers=team.owner.headers).status_code == 404
    response = client.patch(wrong, json={"name": "X"}, headers=team.owner.headers)
    assert response.status_code == 404
    assert client.delete(wrong, headers=team.owner.headers).status_code == 404


def test_delete_refused_while_area_has_children(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    parent, child = chain(client, team, 2)
    url = areas_url(team.locale1)
    response = client.delete(f"{url}/{parent['id']}", headers=team.owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "area_has_children"
    assert client.delete(f"{url}/{child['id']}", headers=team.owner.headers).status_code == 204
    assert client.delete(f"{url}/{parent['id']}", headers=team.owner.headers).status_code == 204
    assert client.get(f"{url}/{parent['id']}", headers=team.owner.headers).status_code == 404


def test_update_refuses_null_name(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = create_area(client, team.owner, team.locale1)
    response = client.patch(
        f"{areas_url(team.locale1)}/{area['id']}", json={"name": None}, headers=team.owner.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]
