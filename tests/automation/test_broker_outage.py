"""A broker outage loses no job: with a private Redis as the job broker of a ``kerops worker``
and a ``kerops scheduler``, tickets raised while it is down are created (201), and once it is
back (restarted empty: no persistence) the relay sweep sends their diagnosis, which the worker
runs, exactly once per ticket. Runs on the suite's database (SQLite or PostgreSQL) when
``redis-server`` is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.core.job_outbox import JobOutbox
from kerops.operations.models import ServiceTicket
from tests.fixtures.factories import Account, Runner, make_locale, register_owner
from tests.fixtures.live_server import free_port
from tests.fixtures.operations import create_ticket
from tests.fixtures.processes import stop

REDIS_SERVER = shutil.which("redis-server")

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server installed")

NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
#: Tickets raised while the broker is down.
TICKETS = 12


class PrivateRedis:
    """A ``redis-server`` of the test's own on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", *NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings_overrides(private_redis: PrivateRedis) -> dict[str, Any]:
    return {
        "broker_url": private_redis.url,
        "broker_queue": f"kerops-outage-{uuid.uuid4().hex[:10]}",
        # The jobs queued in the outage are due for the relay at once.
        "job_relay_after_seconds": 0,
    }


def _count(run: Runner, stmt: Any) -> int:
    async def read(session: AsyncSession) -> int:
        return int((await session.execute(stmt)).scalar() or 0)

    counted: int = run(read)
    return counted


def _diagnosed(run: Runner, ids: list[str]) -> int:
    keys = [uuid.UUID(i) for i in ids]
    return _count(
        run,
        select(func.count()).where(
            ServiceTicket.id.in_(keys), ServiceTicket.ai_diagnosed_at.is_not(None)
        ),
    )


def _left(run: Runner, name: str) -> int:
    return _count(run, select(func.count()).where(JobOutbox.name == name))


def _sent_diagnoses(url: str, queue: str) -> dict[str, int]:
    """How many ``tickets.diagnose`` messages the broker's stream got, by ticket."""
    sent: dict[str, int] = {}
    for _id, fields in redis.Redis.from_url(url).xrange(queue):
        message = json.loads(fields[b"data"])
        if message["task_name"] == "tickets.diagnose":
            ticket_id = message["kwargs"]["ticket_id"]
            sent[ticket_id] = sent.get(ticket_id, 0) + 1
    return sent


def _wait_for_consumer(url: str, queue: str, processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait until a worker reads the queue (its consumer group has a consumer)."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a worker process exited"
        try:
            if any(group["consumers"] for group in client.xinfo_groups(queue)):
                return
        except redis.ResponseError:  # no stream yet
            pass
        time.sleep(0.2)
    raise AssertionError("no worker started reading the queue")


def _start_workers(settings: Settings) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "KEROPS_DATA_DIR": str(settings.data_dir),
        "KEROPS_DATABASE_URL": settings.resolved_database_url,
        "KEROPS_SECRET_KEY": settings.resolved_secret_key(),
        "KEROPS_BROKER_URL": str(settings.broker_url),
        "KEROPS_BROKER_QUEUE": settings.broker_queue,
        "KEROPS_JOB_INTERVALS": json.dumps({"jobs.relay": 1}),
        "KEROPS_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "kerops.cli"]
    return [
        subprocess.Popen(
            [*command, "worker", "--workers", "1"], env=env, stdout=subprocess.DEVNULL
        ),
        subprocess.Popen([*command, "scheduler"], env=env, stdout=subprocess.DEVNULL),
    ]


def test_tickets_raised_while_the_broker_is_down_are_each_diagnosed_once_it_is_back(
    client: TestClient, run: Runner, settings: Settings, private_redis: PrivateRedis
) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)

    processes = _start_workers(settings)
    try:
        _wait_for_consumer(private_redis.url, settings.broker_queue, processes)
        _outage_and_recovery(client, run, settings, private_redis, processes, owner, locale_id)
    finally:
        stop(*processes)


def _outage_and_recovery(
    client: TestClient,
    run: Runner,
    settings: Settings,
    private_redis: PrivateRedis,
    processes: list[subprocess.Popen[bytes]],
    owner: Account,
    locale_id: uuid.UUID,
) -> None:
    private_redis.stop()
    ids = [create_ticket(client, owner, locale_id)["id"] for _ in range(TICKETS)]  # 201 each
    assert _left(run, "tickets.diagnose") == TICKETS
    assert _diagnosed(run, ids) == 0

    private_redis.start()  # empty: what it held before is gone
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a worker process exited"
        if _diagnosed(run, ids) == TICKETS and _left(run, "tickets.diagnose") == 0:
            break
        time.sleep(0.5)
    # The API's own broker client is connected again: a new ticket's jobs are sent and run.
    late = create_ticket(client, owner, locale_id)["id"]
    while time.monotonic() < deadline and _diagnosed(run, [late]) == 0:
        time.sleep(0.5)
    sent = _sent_diagnoses(private_redis.url, settings.broker_queue)
    assert _diagnosed(run, [*ids, late]) == TICKETS + 1
    assert {ticket_id: sent.get(ticket_id) for ticket_id in ids} == dict.fromkeys(ids, 1)
