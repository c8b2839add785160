"""The transition engine: steps, actor kinds, requirements, timestamps, history, concurrency."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from kerops.core.enums import TicketStatus, UserRole
from tests.fixtures.factories import Runner, make_user, make_vendor
from tests.fixtures.operations import (
    add_attachment,
    add_certification,
    add_task,
    create_ticket,
    move,
    set_step,
    set_ticket,
)
from tests.fixtures.tenancy import make_team, walk

API = "/api/v1"
S = TicketStatus


def _setup(client: TestClient, run: Runner, **fields: Any) -> tuple[Any, Any, dict[str, Any]]:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    ticket = create_ticket(client, team.requester, team.locale1, **fields)
    set_ticket(run, ticket["id"], technician_id=technician.id)
    return team, technician, ticket


def test_full_happy_path_with_timestamps_and_history(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run)
    tid = ticket["id"]
    steps = [
        (team.manager, "assigned", None),
        (tech, "accepted", None),
        (tech, "en_route", None),
        (tech, "in_progress", None),
        (tech, "waiting_parts", "Falta compresor"),
        (tech, "in_progress", None),
        (tech, "resolved", None),
        (team.requester, "reopened", "Sigue goteando"),
        (tech, "in_progress", None),
        (tech, "resolved", None),
        (team.requester, "completed", None),
    ]
    for account, to, comment in steps:
        response = move(client, account, tid, to, comment)
        assert response.status_code == 200, (to, response.text)
        assert response.json()["status"] == to
    body = client.get(f"{API}/tickets/{tid}", headers=team.owner.headers).json()
    assert body["responded_at"] and body["resolved_at"] and body["completed_at"]
    assert body["cancelled_at"] is None
    history, _ = walk(client, team.viewer, f"{API}/tickets/{tid}/history", limit=4)
    assert [h["to_status"] for h in history] == ["open"] + [to for _, to, _ in steps]
    assert history[5]["comment"] == "Falta compresor" and history[5]["actor_id"] == str(tech.id)
    comments = client.get(f"{API}/tickets/{tid}/comments", headers=team.owner.headers).json()
    assert [c["body"] for c in comments["items"]] == ["Falta compresor", "Sigue goteando"]


def test_responded_at_is_stamped_once(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run)
    move(client, team.manager, ticket["id"], "assigned")
    first = move(client, tech, ticket["id"], "accepted").json()["responded_at"]
    assert first is not None
    later = move(client, tech, ticket["id"], "in_progress").json()["responded_at"]
    assert later == first


def test_move_without_a_step_is_409_listing_allowed(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run)
    response = move(client, team.manager, ticket["id"], "completed")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_not_allowed"
    assert set(body["allowed"]) == {"assigned", "cancelled"}
    tech_view = move(client, tech, ticket["id"], "completed").json()
    assert tech_view["allowed"] == []
    same = move(client, team.manager, ticket["id"], "open")
    assert same.status_code == 409


def test_wrong_role_is_403(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run)
    for account in (tech, team.requester, team.viewer):
        response = move(client, account, ticket["id"], "assigned")
        assert response.status_code == 403, response.text
    assert move(client, team.manager2, ticket["id"], "assigned").status_code == 404
    assert move(client, team.owner, ticket["id"], "assigned").status_code == 200
    assert move(client, team.manager, ticket["id"], "accepted").status_code == 403


def test_missing_comment_is_422(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    for comment in (None, "", "   "):
        response = move(client, team.manager, ticket["id"], "cancelled", comment)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["type"] == "comment_required"
    ok = move(client, team.manager, ticket["id"], "cancelled", "Duplicado")
    assert ok.status_code == 200 and ok.json()["cancelled_at"] is not None


def _to_in_progress(client: TestClient, team: Any, tech: Any, ticket_id: str) -> None:
    for account, to in ((team.manager, "assigned"), (tech, "accepted"), (tech, "in_progress")):
        assert move(client, account, ticket_id, to).status_code == 200


def test_open_tasks_block_resolution(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run)
    _to_in_progress(client, team, tech, ticket["id"])
    add_task(run, ticket["id"], "Revisar presión", done=True)
    task = add_task(run, ticket["id"], "Cambiar filtro")
    response = move(client, tech, ticket["id"], "resolved")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["type"] == "tasks_not_done" and "Cambiar filtro" in error["msg"]
    assert "Revisar presión" not in error["msg"]

    async def finish(session: Any) -> None:
        from kerops.operations.models import TicketTask

        (await session.get(TicketTask, task)).is_done = True

    run(finish)
    assert move(client, tech, ticket["id"], "resolved").status_code == 200


def test_photo_and_signature_requirements(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run)
    _to_in_progress(client, team, tech, ticket["id"])
    workflow_id = ticket["workflow_id"]
    set_step(
        run, workflow_id, S.in_progress, S.resolved, requires_photo=True, requires_signature=True
    )
    response = move(client, tech, ticket["id"], "resolved")
    assert response.status_code == 422
    assert {e["type"] for e in response.json()["errors"]} == {
        "photo_required",
        "signature_required",
    }
    add_attachment(run, ticket["id"], "document")
    add_attachment(run, ticket["id"], "photo")
    response = move(client, tech, ticket["id"], "resolved")
    assert [e["type"] for e in response.json()["errors"]] == ["signature_required"]
    add_attachment(run, ticket["id"], "signature")
    assert move(client, tech, ticket["id"], "resolved").status_code == 200


def test_licence_requirement(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run, required_certification="SEC clase A")
    assert move(client, team.manager, ticket["id"], "assigned").status_code == 200
    response = move(client, tech, ticket["id"], "accepted")
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "licence_required"
    add_certification(run, tech, "SEC clase A", date.today() - timedelta(days=1))
    add_certification(run, tech, "SEC clase B", date.today() + timedelta(days=30))
    assert move(client, tech, ticket["id"], "accepted").status_code == 422
    add_certification(run, tech, "SEC clase A", date.today())
    assert move(client, tech, ticket["id"], "accepted").status_code == 200


def test_licence_falls_back_to_the_required_skill(client: TestClient, run: Runner) -> None:
    team, tech, ticket = _setup(client, run, required_skill="electricity")
    move(client, team.manager, ticket["id"], "assigned")
    assert move(client, tech, ticket["id"], "accepted").status_code == 422
    add_certification(run, tech, "electricity", date.today() + timedelta(days=1))
    assert move(client, tech, ticket["id"], "accepted").status_code == 200


def test_licence_needs_an_assigned_technician(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.manager, team.locale1, required_skill="hvac")
    set_ticket(run, ticket["id"], status="assigned")  # an assigned ticket without a technician
    workflow_id = ticket["workflow_id"]
    set_step(run, workflow_id, S.assigned, S.accepted, allowed_roles=["owner"])
    response = move(client, team.owner, ticket["id"], "accepted")
    assert response.status_code == 422 and "technician" in response.json()["errors"][0]["msg"]


def test_vendor_admin_of_the_assigned_vendor_may_move(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    vendor = make_vendor(run, team.client_id, "Clima Ltda")
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    set_ticket(run, ticket["id"], vendor_id=vendor, status="assigned")
    assert move(client, admin, ticket["id"], "accepted").status_code == 200


def test_ticket_on_a_custom_workflow_follows_it(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    h = team.owner.headers
    workflow = client.post(f"{API}/workflows", json={"name": "Corto"}, headers=h).json()
    client.post(
        f"{API}/workflows/{workflow['id']}/steps",
        json={"from_status": "open", "to_status": "completed", "allowed_roles": ["requester"]},
        headers=h,
    )
    set_ticket(run, ticket["id"], workflow_id=uuid.UUID(workflow["id"]))
    assert move(client, team.manager, ticket["id"], "assigned").status_code == 409
    assert move(client, team.requester, ticket["id"], "completed").status_code == 200


def test_ticket_without_workflow_uses_the_client_default(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    set_ticket(run, ticket["id"], workflow_id=None)
    assert move(client, team.manager, ticket["id"], "assigned").status_code == 200


def test_concurrent_transitions_apply_once(client: TestClient, run: Runner) -> None:
    team, _, ticket = _setup(client, run)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def attempt(to: str, comment: str | None) -> None:
        barrier.wait()
        results.append(move(client, team.manager, ticket["id"], to, comment).status_code)

    threads = [threading.Thread(target=attempt, args=("assigned", None)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(200) == 1 and set(results) <= {200, 409}
    history = client.get(f"{API}/tickets/{ticket['id']}/history", headers=team.owner.headers)
    assert len(history.json()["items"]) == 2
