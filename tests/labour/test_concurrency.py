"""Under concurrency a technician's logs still never overlap and one timer at most runs: the
requests, sent together through the API on one app, queue on the technician's row."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import UserRole
from kerops.labour.models import TicketWorkLog
from tests.conftest import as_platform
from tests.fixtures.assets import make_ticket
from tests.fixtures.factories import Account, Runner, make_user, make_vendor
from tests.fixtures.labour import API, add_rate, hours_ago, labour_cost, make_crew

REQUESTS = 8


def _together(client: TestClient, calls: list[tuple[str, dict[str, Any], Account]]) -> list[Any]:
    """Send the POSTs at once to the app, in its own loop; their status and body."""

    async def all_together() -> list[Any]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

            async def one(path: str, body: dict[str, Any], account: Account) -> Any:
                response = await http.post(f"{API}{path}", json=body, headers=account.headers)
                return response.status_code, response.json()

            return list(await asyncio.gather(*(one(*call) for call in calls)))

    answers: list[Any] = client.portal.call(as_platform(all_together))  # type: ignore[union-attr]
    return answers


def _logs(run: Runner) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count(TicketWorkLog.id)))).scalar_one())

    result: int = run(count)
    return result


def test_concurrent_overlapping_entries_one_wins(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    # The same technician's time, entered at once by them and by a manager on two tickets.
    second = make_ticket(
        run, crew.team.client_id, crew.team.locale1, None, technician_id=crew.technician.id
    )
    start = hours_ago(5)
    calls = []
    for i in range(REQUESTS):
        body = {
            "started_at": start.isoformat(),
            "minutes": 30 + i,
            "technician_id": str(crew.technician.id),
        }
        account = crew.technician if i % 2 else crew.team.manager
        calls.append((f"/tickets/{crew.ticket if i % 2 else second}/work-logs", body, account))
    answers = _together(client, calls)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: REQUESTS - 1}, answers
    assert {body["code"] for status, body in answers if status == 409} == {"work_log_overlap"}
    assert _logs(run) == 1
    won = next(body for status, body in answers if status == 201)
    assert labour_cost(run, crew.ticket) + labour_cost(run, second) == won["cost_minor"]


def test_concurrent_starts_run_one_timer(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    path = f"/tickets/{crew.ticket}/work-logs/start"
    answers = _together(client, [(path, {}, crew.technician)] * REQUESTS)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: REQUESTS - 1}, answers
    assert {body["code"] for status, body in answers if status == 409} == {"work_log_running"}
    assert _logs(run) == 1


def test_concurrent_entries_of_many_technicians_add_up_on_the_ticket(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    vendor = make_vendor(run, crew.team.client_id, "Cuadrilla Sur")
    add_rate(client, crew.owner, 6_000, vendor_id=vendor)  # 10 minutes: 1.000
    workers = [
        make_user(client, run, role=UserRole.technician, vendor_id=vendor) for _ in range(REQUESTS)
    ]
    start = hours_ago(5)
    calls = [
        (
            f"/tickets/{crew.ticket}/work-logs",
            {"started_at": start.isoformat(), "minutes": 10, "technician_id": str(w.id)},
            crew.owner,
        )
        for w in workers
    ]
    answers = _together(client, calls)
    assert Counter(status for status, _ in answers) == {201: REQUESTS}, answers
    # Each request locked the ticket before adding its log to the sum: none was lost.
    assert labour_cost(run, crew.ticket) == REQUESTS * 1_000
    assert _logs(run) == REQUESTS
