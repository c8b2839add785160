"""The SLA check stays cheap with many tickets: its batch query reads the partial index of
``sla_next_check_at`` (only watched tickets are in it) and never scans the table."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketPriority, TicketStatus
from kerops.core.jobs import take_pending
from kerops.events.models import Event
from kerops.operations import sla_jobs
from kerops.operations.models import ServiceTicket
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import make_team

TICKETS = 3000
DUE = 150


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


def _rows(client_id: Any, locale_id: Any, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for n in range(TICKETS):
        if n < DUE:  # due for a warning now
            next_check, status = now - timedelta(minutes=1), TicketStatus.in_progress
        elif n % 3 == 0:  # closed: not watched
            next_check, status = None, TicketStatus.completed
        else:  # watched, not yet due
            next_check, status = now + timedelta(minutes=n), TicketStatus.open
        rows.append(
            {
                "client_id": client_id,
                "locale_id": locale_id,
                "number": n + 1,
                "title": f"Ticket {n}",
                "priority": TicketPriority.medium,
                "status": status,
                "sla_response_due_at": now + timedelta(hours=8),
                "sla_resolution_due_at": now + timedelta(hours=72),
                "sla_response_warn_at": next_check,
                "sla_next_check_at": next_check,
            }
        )
    return rows


def test_the_check_reads_only_due_tickets_through_the_index(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    now = datetime.now(UTC)

    async def seed(session: AsyncSession) -> None:
        await session.execute(insert(ServiceTicket), _rows(team.client_id, team.locale1, now))

    run(seed)
    dialect = client.app.state.kerops.db.engine.dialect.name  # type: ignore[attr-defined]

    async def plan(session: AsyncSession) -> str:
        stmt = (
            select(ServiceTicket.id)
            .where(ServiceTicket.sla_next_check_at <= now)
            .order_by(ServiceTicket.sla_next_check_at)
            .limit(200)
        )
        sql = str(stmt.compile(session.bind, compile_kwargs={"literal_binds": True}))
        if dialect == "postgresql":
            # As the tables' owner: the service's role may not analyse them.
            owner = client.app.state.kerops.settings.migration_database_url  # type: ignore[attr-defined]
            conn = await asyncpg.connect(owner.replace("+asyncpg", ""))
            try:
                await conn.execute("ANALYZE service_tickets")
            finally:
                await conn.close()
            rows = await session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"))
        else:
            await session.execute(text("ANALYZE"))
            rows = await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(str(row) for row in rows)

    query_plan = run(plan)
    assert "ix_service_tickets_sla_next_check_at" in query_plan, query_plan

    async def one_batch(session: AsyncSession) -> tuple[int, float]:
        started = time.perf_counter()
        taken = await sla_jobs.check_batch(session, now=now, limit=sla_jobs.BATCH_SIZE)
        elapsed = time.perf_counter() - started
        take_pending(session)  # the event dispatches are not part of the measure
        await session.rollback()
        return taken, elapsed

    taken, elapsed = run(one_batch)
    assert taken == DUE
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run("sla.check", now=now.isoformat()))  # type: ignore[union-attr]

    async def count(session: AsyncSession) -> tuple[int, int]:
        events = await session.scalar(select(func.count()).select_from(Event))
        due = await session.scalar(
            select(func.count()).where(ServiceTicket.sla_next_check_at <= now)
        )
        return int(events or 0), int(due or 0)

    assert run(count) == (DUE, 0)
    print(f"\n{query_plan}")
    print(f"sla.check on {dialect}: {DUE} due of {TICKETS} tickets in {elapsed * 1000:.0f} ms")
