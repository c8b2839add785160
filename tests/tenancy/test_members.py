"""Local members: who may be added, duplicates, own membership, the list and its queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from kerops.core.enums import UserRole
from tests.fixtures.factories import Runner, make_user, make_vendor, register_owner
from tests.fixtures.tenancy import API, Team, make_team, walk


def members_url(locale_id: uuid.UUID | str) -> str:
    return f"{API}/locales/{locale_id}/members"


def add(client: TestClient, team: Team, account: Any, user_id: Any, role: str = "viewer") -> Any:
    return client.post(
        members_url(team.locale1),
        json={"user_id": str(user_id), "role": role},
        headers=account.headers,
    )


@contextmanager
def count_queries(client: TestClient) -> Iterator[list[str]]:
    """Record every SQL statement the app runs inside the block."""
    engine = client.app.state.kerops.db.engine.sync_engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_owner_adds_member_with_user_summary(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = add(client, team, team.owner, team.outsider.id, "requester")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["role"] == "requester" and body["locale_id"] == str(team.locale1)
    assert body["user"] == {
        "id": str(team.outsider.id),
        "email": team.outsider.email,
        "full_name": "client_member test",
        "role": "client_member",
    }
    # the new member now reads the locale
    response = client.get(f"{API}/locales/{team.locale1}", headers=team.outsider.headers)
    assert response.status_code == 200


def test_manager_adds_member(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert add(client, team, team.manager, team.outsider.id).status_code == 201


def test_manager_can_add_someone_already_in_another_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert add(client, team, team.manager, team.manager2.id).status_code == 201


def test_already_a_member_is_409(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = add(client, team, team.owner, team.viewer.id, "manager")
    assert response.status_code == 409 and response.json()["code"] == "already_member"


def test_owner_needs_no_membership(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = add(client, team, team.owner, team.owner.id)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "user_id"]


def test_technician_cannot_become_member(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    assert add(client, team, team.owner, technician.id).status_code == 422


def test_user_of_another_client_or_unknown_is_404(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    stranger = register_owner(client)
    assert stranger.client_id is not None
    foreign = make_user(client, run, role=UserRole.client_member, client_id=stranger.client_id)
    vendor_admin = make_user(
        client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run, team.client_id)
    )
    for user_id in (foreign.id, stranger.id, vendor_admin.id, uuid.uuid4()):
        response = add(client, team, team.owner, user_id)
        assert response.status_code == 404, user_id
        assert foreign.email not in response.text


def test_bad_role_is_422(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert add(client, team, team.owner, team.outsider.id, "boss").status_code == 422


def test_owner_changes_a_role(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    url = f"{members_url(team.locale1)}/{team.manager_member}"
    response = client.patch(url, json={"role": "viewer"}, headers=team.owner.headers)
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert response.json()["user"]["email"] == team.manager.email
    # the former manager can no longer write
    response = client.patch(
        f"{API}/locales/{team.locale1}", json={"name": "X"}, headers=team.manager.headers
    )
    assert response.status_code == 403


def test_manager_changes_and_removes_other_members(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    url = members_url(team.locale1)
    response = client.patch(
        f"{url}/{team.requester_member}", json={"role": "viewer"}, headers=team.manager.headers
    )
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    response = client.delete(f"{url}/{team.viewer_member}", headers=team.manager.headers)
    assert response.status_code == 204
    response = client.get(f"{url}/{team.viewer_member}", headers=team.owner.headers)
    assert response.status_code == 404


def test_manager_cannot_change_own_membership(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    url = f"{members_url(team.locale1)}/{team.manager_member}"
    response = client.patch(url, json={"role": "viewer"}, headers=team.manager.headers)
    assert response.status_code == 403 and response.json()["code"] == "own_membership"
    response = client.delete(url, headers=team.manager.headers)
    assert response.status_code == 403
    body = client.get(url, headers=team.owner.headers).json()
    assert body["role"] == "manager"


def test_update_refuses_null_role(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    url = f"{members_url(team.locale1)}/{team.viewer_member}"
    response = client.patch(url, json={"role": None}, headers=team.owner.headers)
    assert response.status_code == 422


def test_member_is_reached_only_through_its_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    wrong = f"{members_url(team.locale2)}/{team.viewer_member}"
    assert client.get(wrong, headers=team.owner.headers).status_code == 404
    response = client.patch(wrong, json={"role": "manager"}, headers=team.owner.headers)
    assert response.status_code == 404
    assert client.delete(wrong, headers=team.owner.headers).status_code == 404


def test_list_filters(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)

    def emails(**params: Any) -> set[str]:
        response = client.get(members_url(team.locale1), params=params, headers=team.owner.headers)
        assert response.status_code == 200, response.text
        return {item["user"]["email"] for item in response.json()["items"]}

    assert emails() == {team.manager.email, team.requester.email, team.viewer.email}
    assert emails(role="viewer") == {team.viewer.email}
    assert emails(q=team.requester.email[:18].upper()) == {team.requester.email}


def test_list_is_one_query_per_page_and_walks_every_member(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    for _ in range(6):
        user = make_user(client, run, role=UserRole.client_member, client_id=team.client_id)
        assert add(client, team, team.owner, user.id).status_code == 201
    url = members_url(team.locale1)

    def queries(limit: int) -> int:
        with count_queries(client) as statements:
            response = client.get(url, params={"limit": limit}, headers=team.owner.headers)
        assert response.status_code == 200
        assert len(response.json()["items"]) == limit
        return len(statements)

    assert queries(2) == queries(9)
    for sort in ("created_at", "-created_at", "role", "-role"):
        items, pages = walk(client, team.owner, url, limit=2, sort=sort)
        ids = [item["id"] for item in items]
        assert pages == 5 and len(ids) == len(set(ids)) == 9, sort
        if sort.lstrip("-") == "role":
            roles = [item["role"] for item in items]
            assert roles == sorted(roles, reverse=sort.startswith("-")), sort
