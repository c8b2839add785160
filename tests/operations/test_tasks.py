"""A ticket's checklist: who manages and completes tasks, values by kind, follow-up tickets."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core.enums import UserRole
from kerops.core.types import uuid7
from tests.fixtures.factories import Account, Runner, make_user, register_owner
from tests.fixtures.operations import create_ticket, move, set_ticket
from tests.fixtures.tenancy import Team, make_team, walk

API = "/api/v1"


def _setup(client: TestClient, run: Runner, **fields: Any) -> tuple[Team, Account, dict[str, Any]]:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    ticket = create_ticket(client, team.requester, team.locale1, **fields)
    set_ticket(run, ticket["id"], technician_id=technician.id)
    return team, technician, ticket


def _tasks_url(ticket: dict[str, Any]) -> str:
    return f"{API}/tickets/{ticket['id']}/tasks"


def _add(
    client: TestClient, account: Account, ticket: dict[str, Any], **body: Any
) -> dict[str, Any]:
    body.setdefault("label", "Revisar filtro")
    response = client.post(_tasks_url(ticket), json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _complete(
    client: TestClient, account: Account, ticket: dict[str, Any], task: dict[str, Any], **body: Any
) -> Any:
    url = f"{_tasks_url(ticket)}/{task['id']}/complete"
    return client.post(url, json=body, headers=account.headers)


def _error_types(response: Any) -> list[str]:
    return [e["type"] for e in response.json()["errors"]]


# --- managing the checklist ----------------------------------------------------------------------


def test_manager_adds_tasks_appended_in_position_order(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    first = _add(client, team.manager, ticket, label="Uno", position=2)
    second = _add(client, team.owner, ticket, label="Dos", kind="number", min_value=1, max_value=5)
    head = _add(client, team.manager, ticket, label="Cero", position=0)
    assert (first["position"], second["position"], head["position"]) == (2, 3, 0)
    assert first["kind"] == "check" and first["is_done"] is False
    assert (second["min_value"], second["max_value"]) == (1, 5)
    items, pages = walk(client, team.viewer, _tasks_url(ticket), limit=2)
    assert pages == 2
    assert [t["id"] for t in items] == [head["id"], first["id"], second["id"]]


@pytest.mark.parametrize("who", ["requester", "viewer", "technician", "manager2"])
def test_only_owner_and_locale_manager_add_tasks(client: TestClient, run: Runner, who: str) -> None:
    team, technician, ticket = _setup(client, run)
    account = technician if who == "technician" else getattr(team, who)
    response = client.post(_tasks_url(ticket), json={"label": "X"}, headers=account.headers)
    # manager2 manages another locale: the ticket is not theirs to see at all.
    assert response.status_code == (404 if who == "manager2" else 403)


def test_other_clients_ticket_is_404(client: TestClient, run: Runner) -> None:
    _, _, ticket = _setup(client, run)
    stranger = register_owner(client)
    assert client.get(_tasks_url(ticket), headers=stranger.headers).status_code == 404
    response = client.post(_tasks_url(ticket), json={"label": "X"}, headers=stranger.headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"label": "X", "kind": "check", "min_value": 1},
        {"label": "X", "kind": "pass_fail", "max_value": 1},
        {"label": "X", "kind": "number", "min_value": 5, "max_value": 1},
        {"label": "X", "kind": "photo"},
        {"label": ""},
        {"label": "   "},
        {"label": "x" * 301},
        {"label": "a\x00b"},
        {"label": "X", "position": -1},
        {"label": "X", "is_done": True},
        {},
    ],
)
def test_bad_task_bodies_are_422(client: TestClient, run: Runner, body: dict[str, Any]) -> None:
    team, _, ticket = _setup(client, run)
    response = client.post(_tasks_url(ticket), json=body, headers=team.manager.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_number_task_may_have_one_limit_or_none(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    assert _add(client, team.manager, ticket, kind="number")["min_value"] is None
    assert _add(client, team.manager, ticket, kind="number", max_value=3)["max_value"] == 3


def test_manager_edits_label_and_limits(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="number", min_value=1, max_value=5)
    url = f"{_tasks_url(ticket)}/{task['id']}"
    response = client.patch(
        url,
        json={"label": "Presión", "max_value": 9, "min_value": None},
        headers=team.owner.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["label"], body["min_value"], body["max_value"]) == ("Presión", None, 9)


def test_editing_limits_rejudges_a_recorded_number(client: TestClient, run: Runner) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="number", min_value=1, max_value=5)
    assert _complete(client, technician, ticket, task, value=7).json()["passed"] is False
    url = f"{_tasks_url(ticket)}/{task['id']}"
    response = client.patch(url, json={"max_value": 10}, headers=team.manager.headers)
    assert response.json()["passed"] is True


@pytest.mark.parametrize(
    ("kind", "body", "error"),
    [
        ("check", {"min_value": 1}, "limits_not_allowed"),
        ("number", {"min_value": 6}, "limits_invalid"),
        ("number", {"max_value": 0}, "limits_invalid"),
    ],
)
def test_bad_limit_edits_are_422(
    client: TestClient, run: Runner, kind: str, body: dict[str, Any], error: str
) -> None:
    team, _, ticket = _setup(client, run)
    extra = {"min_value": 1, "max_value": 5} if kind == "number" else {}
    task = _add(client, team.manager, ticket, kind=kind, **extra)
    response = client.patch(
        f"{_tasks_url(ticket)}/{task['id']}", json=body, headers=team.manager.headers
    )
    assert response.status_code == 422
    assert _error_types(response) == [error]


@pytest.mark.parametrize("body", [{"label": None}, {"position": None}, {"kind": "text"}])
def test_bad_patch_bodies_are_422(client: TestClient, run: Runner, body: dict[str, Any]) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket)
    response = client.patch(
        f"{_tasks_url(ticket)}/{task['id']}", json=body, headers=team.manager.headers
    )
    assert response.status_code == 422


def test_technician_and_requester_cannot_edit_or_delete(client: TestClient, run: Runner) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket)
    url = f"{_tasks_url(ticket)}/{task['id']}"
    for account in (technician, team.requester, team.viewer):
        assert client.patch(url, json={"label": "Y"}, headers=account.headers).status_code == 403
        assert client.delete(url, headers=account.headers).status_code == 403


def test_manager_deletes_a_task(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket)
    url = f"{_tasks_url(ticket)}/{task['id']}"
    assert client.delete(url, headers=team.manager.headers).status_code == 204
    assert client.get(_tasks_url(ticket), headers=team.owner.headers).json()["items"] == []
    assert client.delete(url, headers=team.manager.headers).status_code == 404


def test_task_addressed_through_another_ticket_is_404(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    other = create_ticket(client, team.manager, team.locale1)
    task = _add(client, team.manager, ticket)
    url = f"{_tasks_url(other)}/{task['id']}"
    assert client.patch(url, json={"label": "Y"}, headers=team.manager.headers).status_code == 404
    assert client.delete(url, headers=team.manager.headers).status_code == 404
    response = client.post(f"{url}/complete", json={"value": True}, headers=team.owner.headers)
    assert response.status_code == 404


# --- completing ----------------------------------------------------------------------------------


def test_assigned_technician_completes_a_check(client: TestClient, run: Runner) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket)
    response = _complete(client, technician, ticket, task, value=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_done"] is True and body["completed_at"] is not None
    assert body["completed_by_id"] == str(technician.id)
    assert body["follow_up_ticket"] is None


@pytest.mark.parametrize("who", ["owner", "manager"])
def test_owner_and_manager_complete_tasks(client: TestClient, run: Runner, who: str) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="text")
    account = getattr(team, who)
    response = _complete(client, account, ticket, task, value="Filtro cambiado")
    assert response.status_code == 200
    assert response.json()["value_text"] == "Filtro cambiado"
    assert response.json()["completed_by_id"] == str(account.id)


def test_requester_viewer_and_unassigned_technician_cannot_complete(
    client: TestClient, run: Runner
) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket)
    for account in (team.requester, team.viewer):
        assert _complete(client, account, ticket, task, value=True).status_code == 403
    other_tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    assert _complete(client, other_tech, ticket, task, value=True).status_code == 404


@pytest.mark.parametrize(
    ("value", "passed"), [(1, True), (3.5, True), (5, True), (0.99, False), (6, False)]
)
def test_number_is_recorded_and_judged_against_limits(
    client: TestClient, run: Runner, value: float, passed: bool
) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="number", min_value=1, max_value=5)
    body = _complete(client, technician, ticket, task, value=value).json()
    assert body["value_number"] == value and body["passed"] is passed and body["is_done"]


@pytest.mark.parametrize("value", [True, False])
def test_pass_fail_records_the_verdict(client: TestClient, run: Runner, value: bool) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="pass_fail")
    body = _complete(client, technician, ticket, task, value=value).json()
    assert body["passed"] is value and body["is_done"] is True


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("check", False),
        ("check", 1),
        ("check", "yes"),
        ("number", True),
        ("number", "5"),
        ("text", ""),
        ("text", "   "),
        ("text", 5),
        ("text", True),
        ("pass_fail", 1),
        ("pass_fail", "true"),
    ],
)
def test_value_of_the_wrong_type_is_422(
    client: TestClient, run: Runner, kind: str, value: Any
) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind=kind)
    response = _complete(client, technician, ticket, task, value=value)
    assert response.status_code == 422, response.text
    assert _error_types(response) == ["value_type"]
    listed = client.get(_tasks_url(ticket), headers=team.owner.headers).json()["items"]
    assert listed[0]["is_done"] is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"value": None},
        {"value": [1]},
        {"value": {"a": 1}},
        {"value": 1e300},
        {"value": True, "x": 1},
    ],
)
def test_malformed_completion_bodies_are_422(
    client: TestClient, run: Runner, body: dict[str, Any]
) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="number")
    assert _complete(client, technician, ticket, task, **body).status_code == 422


# --- follow-up tickets ---------------------------------------------------------------------------


def _asset(run: Runner, client_id: uuid.UUID, locale_id: uuid.UUID) -> uuid.UUID:
    asset_id = uuid7()

    async def create(session: AsyncSession) -> None:
        session.add(
            Asset(
                id=asset_id,
                client_id=client_id,
                locale_id=locale_id,
                name="Bomba",
                qr_code=uuid.uuid4().hex,
            )
        )

    run(create)
    return asset_id


def test_failed_pass_fail_opens_a_linked_follow_up(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset_id = _asset(run, team.client_id, team.locale1)
    _, _, ticket = (
        None,
        None,
        create_ticket(
            client, team.requester, team.locale1, asset_id=str(asset_id), priority="high"
        ),
    )
    task = _add(client, team.manager, ticket, label="Sello de la bomba", kind="pass_fail")
    response = _complete(client, team.manager, ticket, task, value=False, open_follow_up=True)
    assert response.status_code == 200, response.text
    body = response.json()
    follow_up = body["follow_up_ticket"]
    assert body["follow_up_ticket_id"] == follow_up["id"] and body["passed"] is False
    assert follow_up["title"] == f"Seguimiento: Sello de la bomba ({ticket['code']})"
    assert follow_up["locale_id"] == ticket["locale_id"]
    assert follow_up["asset_id"] == str(asset_id)
    assert follow_up["status"] == "open" and follow_up["number"] == ticket["number"] + 1
    assert follow_up["requester_id"] == str(team.manager.id)
    stored = client.get(f"{API}/tickets/{follow_up['id']}", headers=team.owner.headers)
    assert stored.status_code == 200
    listed = client.get(_tasks_url(ticket), headers=team.viewer.headers).json()["items"]
    assert listed[0]["follow_up_ticket_id"] == follow_up["id"]


def test_number_out_of_limits_opens_a_follow_up(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, label="Presión", kind="number", max_value=5)
    response = _complete(client, team.owner, ticket, task, value=8, open_follow_up=True)
    assert response.status_code == 200, response.text
    assert response.json()["follow_up_ticket"]["title"].startswith("Seguimiento: Presión (T-")


def test_long_label_is_shortened_in_the_follow_up_title(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, label="L" * 300, kind="pass_fail")
    response = _complete(client, team.owner, ticket, task, value=False, open_follow_up=True)
    title = response.json()["follow_up_ticket"]["title"]
    assert len(title) == 200 and title.endswith(f"… ({ticket['code']})")


@pytest.mark.parametrize(("kind", "value"), [("pass_fail", True), ("number", 3), ("check", True)])
def test_follow_up_for_an_item_that_did_not_fail_is_422(
    client: TestClient, run: Runner, kind: str, value: Any
) -> None:
    team, _, ticket = _setup(client, run)
    limits = {"min_value": 1, "max_value": 5} if kind == "number" else {}
    task = _add(client, team.manager, ticket, kind=kind, **limits)
    response = _complete(client, team.manager, ticket, task, value=value, open_follow_up=True)
    assert response.status_code == 422
    assert _error_types(response) == ["follow_up_not_needed"]
    tickets = client.get(f"{API}/tickets", headers=team.owner.headers).json()["items"]
    assert len(tickets) == 1


def test_second_follow_up_for_the_same_task_is_409(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="pass_fail")
    first = _complete(client, team.manager, ticket, task, value=False, open_follow_up=True)
    assert first.status_code == 200
    again = _complete(client, team.manager, ticket, task, value=False, open_follow_up=True)
    assert again.status_code == 409 and again.json()["code"] == "follow_up_exists"


def test_technician_records_a_failure_but_cannot_open_a_follow_up(
    client: TestClient, run: Runner
) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket, kind="pass_fail")
    response = _complete(client, technician, ticket, task, value=False, open_follow_up=True)
    assert response.status_code == 403
    assert _complete(client, technician, ticket, task, value=False).json()["passed"] is False


# --- closed tickets and transitions --------------------------------------------------------------


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_tasks_of_a_closed_ticket_cannot_change(
    client: TestClient, run: Runner, status: str
) -> None:
    team, technician, ticket = _setup(client, run)
    task = _add(client, team.manager, ticket)
    set_ticket(run, ticket["id"], status=status)
    url = f"{_tasks_url(ticket)}/{task['id']}"
    h = team.manager.headers
    responses = [
        client.post(_tasks_url(ticket), json={"label": "X"}, headers=h),
        client.patch(url, json={"label": "Y"}, headers=h),
        client.delete(url, headers=h),
        _complete(client, technician, ticket, task, value=True),
    ]
    assert [r.status_code for r in responses] == [409] * 4
    assert {r.json()["code"] for r in responses} == {"ticket_closed"}
    assert client.get(_tasks_url(ticket), headers=h).json()["items"][0]["label"] == task["label"]


def test_resolving_needs_all_tasks_done_and_succeeds_once_they_are(
    client: TestClient, run: Runner
) -> None:
    team, technician, ticket = _setup(client, run)
    check = _add(client, team.manager, ticket, label="Limpiar")
    reading = _add(client, team.manager, ticket, label="Medir", kind="number", max_value=10)
    set_ticket(run, ticket["id"], status="in_progress")
    refused = move(client, technician, ticket["id"], "resolved")
    assert refused.status_code == 422
    assert _error_types(refused) == ["tasks_not_done"]
    assert _complete(client, technician, ticket, check, value=True).status_code == 200
    assert move(client, technician, ticket["id"], "resolved").status_code == 422
    assert _complete(client, technician, ticket, reading, value=4).status_code == 200
    response = move(client, technician, ticket["id"], "resolved")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved"
