"""A technician's offline day, replayed twice: every change lands exactly once, the second
replay answers what the first did, a stale version is refused with the current one, and a sync
from before the day shows each object once in its final state, with the departures and
deletions of the day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.core.conditional import etag
from tests.fixtures.factories import Account, Runner
from tests.fixtures.files import png
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import make_team
from tests.sync.test_sync import assign, sync_all, working_technician

API = "/api/v1"


@dataclass
class Sent:
    """One queued request as the app sent it, and the answer it got."""

    method: str
    url: str
    headers: dict[str, str]
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    answers: list[tuple[int, Any, str | None]] = field(default_factory=list)


def _send(client: TestClient, request: Sent) -> Any:
    response = client.request(
        request.method,
        request.url,
        headers=request.headers,
        json=request.json,
        files=request.files,
        data=request.data,
    )
    request.answers.append(
        (response.status_code, response.json(), response.headers.get("Idempotent-Replayed"))
    )
    return response


def _keyed(tech: Account, **extra: str) -> dict[str, str]:
    return {**tech.headers, "Idempotency-Key": str(uuid.uuid4()), **extra}


def _counts(client: TestClient, run: Runner, account: Account, ticket_id: str) -> dict[str, Any]:
    base = f"{API}/tickets/{ticket_id}"

    def items(url: str) -> list[dict[str, Any]]:
        response = client.get(url, params={"limit": 200}, headers=account.headers)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["items"]
        return found

    async def audit_rows(session: AsyncSession) -> int:
        stmt = select(func.count()).select_from(AuditLog).where(AuditLog.client_id.is_not(None))
        return int((await session.execute(stmt)).scalar_one())

    return {
        "history": [h["to_status"] for h in items(f"{base}/history")],
        "comments": sorted(c["body"] for c in items(f"{base}/comments")),
        "attachments": len(items(f"{base}/attachments")),
        "tasks": sorted((t["label"], t["is_done"]) for t in items(f"{base}/tasks")),
        "audit": run(audit_rows),
    }


def test_an_offline_day_replayed_twice_lands_once(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = working_technician(client, run, team)
    other = working_technician(client, run, team)
    ticket = create_ticket(client, team.manager, team.locale1)
    tasks_url = f"{API}/tickets/{ticket['id']}/tasks"
    tasks = [
        client.post(tasks_url, json={"label": label}, headers=team.manager.headers).json()
        for label in ("Revisar presión", "Limpiar filtro")
    ]
    second = create_ticket(client, team.manager, team.locale1)
    for one in (ticket, second):
        assert assign(client, team.manager, one["id"], tech).status_code == 200
    # The app syncs before going offline, and keeps what it was shown.
    kept, before_the_day = sync_all(client, tech)
    kept_ticket = next(i["data"] for i in kept if i["id"] == ticket["id"])
    kept_tasks = {i["id"]: i["data"] for i in kept if i["kind"] == "task"}
    assert set(kept_tasks) == {t["id"] for t in tasks}

    # The queue of the day, replayed in order once the network is back.
    url = f"{API}/tickets/{ticket['id']}"
    version = etag(ticket["id"], kept_ticket["updated_at"])
    queue: list[Sent] = []

    def transition(to_status: str) -> None:
        nonlocal version
        request = Sent(
            "POST",
            f"{url}/transitions",
            _keyed(tech, **{"If-Match": version}),
            json={"to_status": to_status},
        )
        response = _send(client, request)
        assert response.status_code == 200, response.text
        version = response.headers["ETag"]
        queue.append(request)

    def keyed(request: Sent) -> Any:
        response = _send(client, request)
        assert response.status_code in (200, 201), response.text
        queue.append(request)
        return response

    transition("accepted")
    transition("in_progress")
    for task_id, task in kept_tasks.items():
        headers = _keyed(tech, **{"If-Match": etag(task_id, task["updated_at"])})
        keyed(Sent("POST", f"{tasks_url}/{task_id}/complete", headers, json={"value": True}))
    for body in ("Filtro sucio, se limpió", "Presión normal"):
        keyed(Sent("POST", f"{url}/comments", _keyed(tech), json={"body": body}))
    photo = keyed(
        Sent(
            "POST",
            f"{url}/attachments",
            _keyed(tech),
            files={"file": ("foto.png", png(), "image/png")},
            data={"kind": "photo"},
        )
    ).json()
    transition("resolved")
    once = _counts(client, run, team.manager, ticket["id"])
    assert once["history"] == ["open", "assigned", "accepted", "in_progress", "resolved"]
    assert len(once["comments"]) == 2 and once["attachments"] == 1
    assert [done for _, done in once["tasks"]] == [True, True]

    # The app never got the answers: it sends the whole queue again, byte for byte.
    for request in queue:
        _send(client, request)
        (status, body, replayed), (again, again_body, replayed_again) = request.answers
        assert (again, again_body) == (status, body), (request.url, again_body)
        assert replayed is None and replayed_again == "true"
    assert _counts(client, run, team.manager, ticket["id"]) == once

    # The manager changes the ticket; the app's PATCH with the version it knows is refused.
    changed = client.patch(url, json={"title": "Revisada"}, headers=team.manager.headers)
    assert changed.status_code == 200, changed.text
    stale = client.patch(
        url, json={"title": "Desde el terreno"}, headers={**tech.headers, "If-Match": version}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    assert stale.headers["ETag"] == changed.headers["ETag"]

    # Later that day: the second ticket goes to another technician, the photo is deleted.
    assert assign(client, team.manager, second["id"], other).status_code == 200
    deleted = client.delete(f"{url}/attachments/{photo['id']}", headers=team.manager.headers)
    assert deleted.status_code == 204, deleted.text

    items, _ = sync_all(client, tech, before_the_day, limit=2)
    seen = [(i["kind"], i["id"]) for i in items]
    assert len(seen) == len(set(seen)), "each object once"
    by_id = {i["id"]: i for i in items}
    final = client.get(url, headers=tech.headers).json()
    assert by_id[ticket["id"]] == {
        "kind": "ticket",
        "id": ticket["id"],
        "op": "upsert",
        "data": final,
    }
    assert final["status"] == "resolved" and final["title"] == "Revisada"
    assert {by_id[t["id"]]["data"]["is_done"] for t in tasks} == {True}
    comments = [i for i in items if i["kind"] == "comment"]
    assert sorted(c["data"]["body"] for c in comments) == once["comments"]
    assert (by_id[second["id"]]["op"], by_id[second["id"]]["data"]) == ("delete", None)
    assert (by_id[photo["id"]]["kind"], by_id[photo["id"]]["op"]) == ("attachment", "delete")
