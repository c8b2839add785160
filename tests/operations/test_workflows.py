"""Workflows and their steps: CRUD per client, the default graph, one default per client."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from kerops.operations.workflows import DEFAULT_STEPS
from tests.fixtures.factories import Runner, register_owner
from tests.fixtures.operations import create_ticket, default_workflow_id
from tests.fixtures.tenancy import make_team, staff, walk

API = "/api/v1"
STEP = {"from_status": "open", "to_status": "in_progress", "allowed_roles": ["technician"]}


def _workflow(client: TestClient, account: Any, **fields: Any) -> dict[str, Any]:
    response = client.post(
        f"{API}/workflows", json={"name": "Rápido", **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_registration_creates_the_default_workflow(client: TestClient) -> None:
    owner = register_owner(client)
    body = client.get(f"{API}/workflows", headers=owner.headers).json()
    assert [w["is_default"] for w in body["items"]] == [True]
    workflow_id = body["items"][0]["id"]
    steps, _ = walk(client, owner, f"{API}/workflows/{workflow_id}/steps", limit=7)
    moves = {(s["from_status"], s["to_status"]) for s in steps}
    assert moves == {(s.from_status.value, s.to_status.value) for s in DEFAULT_STEPS}
    assert ("resolved", "completed") in moves and ("open", "cancelled") in moves


def test_first_ticket_creates_a_missing_default_workflow(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert default_workflow_id(run, team.client_id) is None
    ticket = create_ticket(client, team.manager, team.locale1)
    workflow_id = default_workflow_id(run, team.client_id)
    assert workflow_id is not None and ticket["workflow_id"] == str(workflow_id)
    create_ticket(client, team.manager, team.locale1)
    body = client.get(f"{API}/workflows", headers=team.owner.headers).json()
    assert len(body["items"]) == 1


def test_owner_creates_steps_and_duplicate_move_is_409(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    workflow = _workflow(client, team.owner)
    url = f"{API}/workflows/{workflow['id']}/steps"
    created = client.post(url, json=STEP, headers=team.owner.headers)
    assert created.status_code == 201, created.text
    assert created.json()["allowed_roles"] == ["technician"]
    again = client.post(url, json=STEP, headers=team.owner.headers)
    assert again.status_code == 409 and again.json()["code"] == "step_exists"


def test_step_validation(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    workflow = _workflow(client, team.owner)
    url = f"{API}/workflows/{workflow['id']}/steps"
    for bad in (
        {**STEP, "to_status": "open"},
        {**STEP, "allowed_roles": []},
        {**STEP, "allowed_roles": ["viewer"]},
        {**STEP, "to_status": "closed"},
        {**STEP, "extra": 1},
    ):
        response = client.post(url, json=bad, headers=team.owner.headers)
        assert response.status_code == 422, (bad, response.text)


def test_step_update_refuses_a_loop_and_a_duplicate(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    workflow = _workflow(client, team.owner)
    url = f"{API}/workflows/{workflow['id']}/steps"
    first = client.post(url, json=STEP, headers=team.owner.headers).json()
    second = client.post(
        url, json={**STEP, "to_status": "assigned"}, headers=team.owner.headers
    ).json()
    loop = client.patch(
        f"{url}/{first['id']}", json={"to_status": "open"}, headers=team.owner.headers
    )
    assert loop.status_code == 422
    dup = client.patch(
        f"{url}/{second['id']}", json={"to_status": "in_progress"}, headers=team.owner.headers
    )
    assert dup.status_code == 409
    ok = client.patch(
        f"{url}/{second['id']}",
        json={"requires_photo": True, "allowed_roles": ["owner", "staff"]},
        headers=team.owner.headers,
    )
    assert ok.status_code == 200 and ok.json()["requires_photo"] is True
    assert client.delete(f"{url}/{second['id']}", headers=team.owner.headers).status_code == 204
    assert client.get(f"{url}/{second['id']}", headers=team.owner.headers).status_code == 404


def test_only_one_default_per_client(client: TestClient) -> None:
    owner = register_owner(client)
    first = client.get(f"{API}/workflows", headers=owner.headers).json()["items"][0]
    new = _workflow(client, owner, is_default=True)
    defaults = client.get(f"{API}/workflows", params={"is_default": True}, headers=owner.headers)
    assert [w["id"] for w in defaults.json()["items"]] == [new["id"]]
    back = client.patch(
        f"{API}/workflows/{first['id']}", json={"is_default": True}, headers=owner.headers
    )
    assert back.status_code == 200
    defaults = client.get(f"{API}/workflows", params={"is_default": True}, headers=owner.headers)
    assert [w["id"] for w in defaults.json()["items"]] == [first["id"]]
    unset = client.patch(
        f"{API}/workflows/{first['id']}", json={"is_default": False}, headers=owner.headers
    )
    assert unset.status_code == 422


def test_duplicate_workflow_name_is_409(client: TestClient) -> None:
    owner = register_owner(client)
    _workflow(client, owner)
    response = client.post(f"{API}/workflows", json={"name": "Rápido"}, headers=owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "name_taken"


def test_workflow_in_use_or_default_cannot_be_deleted(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.manager, team.locale1)
    default = client.delete(f"{API}/workflows/{ticket['workflow_id']}", headers=team.owner.headers)
    assert default.status_code == 409 and default.json()["code"] == "workflow_is_default"
    other = _workflow(client, team.owner, is_default=True)
    in_use = client.delete(f"{API}/workflows/{ticket['workflow_id']}", headers=team.owner.headers)
    assert in_use.status_code == 409 and in_use.json()["code"] == "workflow_in_use"
    spare = _workflow(client, team.owner, name="Sin uso")
    assert (
        client.delete(f"{API}/workflows/{spare['id']}", headers=team.owner.headers).status_code
        == 204
    )
    assert other["is_default"] is True


def test_members_read_but_do_not_write_workflows(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    workflow = _workflow(client, team.owner)
    for account in (team.manager, team.viewer, team.requester):
        listed = client.get(f"{API}/workflows", headers=account.headers).json()["items"]
        assert workflow["id"] in {w["id"] for w in listed}
        assert (
            client.post(f"{API}/workflows", json={"name": "X"}, headers=account.headers).status_code
            == 403
        )
        patched = client.patch(
            f"{API}/workflows/{workflow['id']}", json={"name": "X"}, headers=account.headers
        )
        assert patched.status_code == 403
        step = client.post(
            f"{API}/workflows/{workflow['id']}/steps", json=STEP, headers=account.headers
        )
        assert step.status_code == 403


def test_staff_creates_a_workflow_for_a_named_client(client: TestClient, run: Runner) -> None:
    admin = staff(client, run)
    owner = register_owner(client)
    missing = client.post(f"{API}/workflows", json={"name": "X"}, headers=admin.headers)
    assert missing.status_code == 422
    made = client.post(
        f"{API}/workflows",
        json={"name": "X", "client_id": str(owner.client_id)},
        headers=admin.headers,
    )
    assert made.status_code == 201 and made.json()["client_id"] == str(owner.client_id)
