"""Scaled out: with Redis as the broker, two ``kerops worker`` processes and one
``kerops scheduler`` open exactly one ticket per due occurrence of many plans (PostgreSQL), run
the jobs those tickets queue (diagnosis, event dispatch) and flag an overdue ticket's SLA breach
once.

Runs only when ``KEROPS_TEST_BROKER_URL`` (a Redis URL) and ``KEROPS_TEST_DATABASE_URL`` (a
PostgreSQL URL) are set: a dedicated database is created and migrated for the test and dropped
at the end; the Redis stream has a queue name of its own, so parallel runs do not share jobs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from kerops.assets.models import Asset, AssetMaintenancePlan, PlanOccurrence
from kerops.config import Settings, normalise_database_url
from kerops.core.enums import UserRole
from kerops.core.migrate import upgrade
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.operations.models import ServiceTicket, TicketCounter
from kerops.tenancy.models import Locale
from kerops.users.models import Client, User
from tests.fixtures.processes import stop

BROKER_URL = os.environ.get("KEROPS_TEST_BROKER_URL", "")
PG_URL = os.environ.get("KEROPS_TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not (BROKER_URL.startswith(("redis://", "rediss://")) and PG_URL.startswith("postgres")),
    reason="needs KEROPS_TEST_BROKER_URL=redis://… and KEROPS_TEST_DATABASE_URL=postgresql://…",
)

PLANS = 40
SECRET = "redis-workers-secret-key-0123456789-abcdefghijkl"


def _pg(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{dbname}"))


def _admin(sql: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    name = f"kerops_redis_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = normalise_database_url(_pg(PG_URL, name))
    try:
        upgrade(Settings(data_dir=tmp_path, database_url=url, secret_key=SECRET))
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _seed(url: str) -> tuple[list[uuid.UUID], uuid.UUID]:
    """A client with one asset, many daily plans whose occurrence is due now, and a ticket
    whose resolution deadline has passed."""
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session:
            client_id = uuid7()
            session.add(Client(id=client_id, owner_user_id=client_id, name="Planta Sur"))
            await session.flush()
            session.add(
                User(
                    id=client_id,
                    client_id=client_id,
                    email=f"owner.{client_id.hex[:10]}@example.cl",
                    full_name="Dueña",
                    role=UserRole.client_owner,
                )
            )
            await session.flush()
            locale = Locale(id=uuid7(), client_id=client_id, name="Planta", timezone="UTC")
            session.add(locale)
            await session.flush()
            asset = Asset(
                id=uuid7(),
                client_id=client_id,
                locale_id=locale.id,
                name="Chiller",
                qr_code=uuid.uuid4().hex,
                meter_readings={},
            )
            session.add(asset)
            await session.flush()
            ids = [uuid7() for _ in range(PLANS)]
            due = utcnow() - timedelta(hours=1)
            for n, plan_id in enumerate(ids):
                session.add(
                    AssetMaintenancePlan(
                        id=plan_id,
                        client_id=client_id,
                        locale_id=locale.id,
                        asset_id=asset.id,
                        name=f"Plan {n}",
                        trigger="date",
                        interval_unit="day",
                        interval_count=1,
                        anchor="calendar",
                        start_date=date(2026, 1, 1),
                        checklist_template=[{"label": "Revisar", "kind": "check"}],
                        next_due_at=due,
                    )
                )
            overdue_id = uuid7()
            overdue = ServiceTicket(
                id=overdue_id,
                client_id=client_id,
                number=1,
                title="Fuga en cámara",
                locale_id=locale.id,
                asset_id=asset.id,
                sla_response_due_at=utcnow() - timedelta(hours=3),
                sla_resolution_due_at=utcnow() - timedelta(hours=1),
                sla_next_check_at=utcnow() - timedelta(hours=3),
            )
            session.add(overdue)
            session.add(TicketCounter(client_id=client_id, last_number=1))
            await session.commit()
            return ids, overdue_id
    finally:
        await engine.dispose()


async def _overdue_state(url: str, ticket_id: uuid.UUID) -> tuple[bool, list[str], int]:
    """The overdue ticket's breach flag, the targets of its breach events and how many of those
    were dispatched."""
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            ticket = await session.get(ServiceTicket, ticket_id)
            assert ticket is not None
            events = list(
                (
                    await session.execute(
                        select(Event).where(
                            Event.subject_id == ticket_id, Event.type == "sla.breached"
                        )
                    )
                ).scalars()
            )
            dispatched = sum(1 for e in events if e.dispatched_at is not None)
            targets = sorted(str(e.payload.get("target")) for e in events)
            return ticket.sla_resolution_breached, targets, dispatched
    finally:
        await engine.dispose()


async def _diagnosed(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            stmt = select(func.count()).where(
                ServiceTicket.source == "plan", ServiceTicket.ai_diagnosed_at.is_not(None)
            )
            return int((await session.execute(stmt)).scalar() or 0)
    finally:
        await engine.dispose()


async def _counts(url: str) -> tuple[dict[uuid.UUID, int], int]:
    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            rows = await session.execute(
                select(ServiceTicket.maintenance_plan_id, func.count())
                .where(ServiceTicket.source == "plan")
                .group_by(ServiceTicket.maintenance_plan_id)
            )
            per_plan = {plan_id: int(count) for plan_id, count in rows}
            occurrences = int(
                (await session.execute(select(func.count()).select_from(PlanOccurrence))).scalar()
                or 0
            )
            return per_plan, occurrences
    finally:
        await engine.dispose()


def test_two_workers_and_a_scheduler_open_one_ticket_per_occurrence(
    database: str, tmp_path: Path
) -> None:
    plan_ids, overdue_id = asyncio.run(_seed(database))
    queue = f"kerops-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "KEROPS_DATA_DIR": str(tmp_path),
        "KEROPS_SECRET_KEY": SECRET,
        "KEROPS_DATABASE_URL": database,
        "KEROPS_BROKER_URL": BROKER_URL,
        "KEROPS_BROKER_QUEUE": queue,
        "KEROPS_JOB_INTERVALS": json.dumps({"pm.generate": 1, "sla.check": 1}),
        "KEROPS_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "kerops.cli"]
    processes = [
        subprocess.Popen(
            [*command, "worker", "--workers", "1"], env=env, stdout=subprocess.DEVNULL
        ),
        subprocess.Popen(
            [*command, "worker", "--workers", "1"], env=env, stdout=subprocess.DEVNULL
        ),
        subprocess.Popen([*command, "scheduler"], env=env, stdout=subprocess.DEVNULL),
    ]
    try:
        deadline = time.monotonic() + 90
        per_plan: dict[uuid.UUID, int] = {}
        while time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), "a process exited"
            per_plan, _ = asyncio.run(_counts(database))
            if len(per_plan) == PLANS:
                break
            time.sleep(1)
        # The jobs the new tickets queued (diagnosis) and the SLA check run on the workers too.
        while time.monotonic() < deadline:
            breach = asyncio.run(_overdue_state(database, overdue_id))
            if asyncio.run(_diagnosed(database)) == PLANS and breach[2] >= 2:
                break
            time.sleep(1)
        # Let a few more runs go by on both workers: they must add nothing.
        time.sleep(4)
        per_plan, occurrences = asyncio.run(_counts(database))
        diagnosed = asyncio.run(_diagnosed(database))
        breach = asyncio.run(_overdue_state(database, overdue_id))
    finally:
        stop(*processes)
        redis.Redis.from_url(BROKER_URL).delete(queue)
    assert set(per_plan) == set(plan_ids)
    assert set(per_plan.values()) == {1}
    assert occurrences == PLANS
    assert diagnosed == PLANS
    # Both targets breached, each once: one event per target, each dispatched by a worker.
    assert breach == (True, ["resolution", "response"], 2)
