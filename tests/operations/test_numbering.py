"""Ticket numbers: per client, consecutive and never duplicated, also under concurrent creation."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from kerops.operations.models import Workflow
from kerops.operations.numbering import next_ticket_number
from tests.conftest import as_platform
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import make_team

API = "/api/v1"
N = 20


def test_twenty_concurrent_creations_get_distinct_consecutive_numbers(
    client: TestClient, run: Runner
) -> None:
    # A client without a counter row nor a default workflow: both are created under the race.
    team = make_team(client, run)
    barrier = threading.Barrier(N)
    responses: list[Any] = []
    lock = threading.Lock()

    def create(i: int) -> None:
        barrier.wait()
        response = client.post(
            f"{API}/tickets",
            json={"title": f"Falla {i}", "locale_id": str(team.locale1)},
            headers=team.manager.headers,
        )
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in responses] == [201] * N, [r.text for r in responses]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == list(range(1, N + 1))
    assert len({r.json()["workflow_id"] for r in responses}) == 1

    async def defaults(session: Any) -> int:
        stmt = select(Workflow.id).where(
            Workflow.client_id == team.client_id, Workflow.is_default.is_(True)
        )
        return len(list((await session.execute(stmt)).scalars()))

    assert run(defaults) == 1


def test_counter_bumps_concurrently_in_separate_sessions(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    db = client.app.state.kerops.db  # type: ignore[attr-defined]

    async def one() -> int:
        async with db.sessions() as session:
            number = await next_ticket_number(session, team.client_id)
            await session.commit()
            return number

    async def many() -> list[int]:
        return list(await asyncio.gather(*(one() for _ in range(N))))

    numbers = client.portal.call(as_platform(many))  # type: ignore[union-attr]
    assert sorted(numbers) == list(range(1, N + 1))
