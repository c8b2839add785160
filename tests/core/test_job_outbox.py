"""The jobs outbox: a commit writes the jobs it queued, each job deletes its row when it has run,
the relay sweep sends what the broker did not take; a job failing on a transient database error
is run again, any other failure is parked."""

from __future__ import annotations

import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from kerops.config import Settings
from kerops.core.errors import Conflict
from kerops.core.job_outbox import JobOutbox
from kerops.core.job_relay import CLAIM_SECONDS
from kerops.core.jobs import JobContext, JobEngine, enqueue, job
from kerops.core.transient import is_transient
from kerops.core.types import utcnow
from kerops.events import service as events_service
from kerops.operations.models import ServiceTicket
from kerops.system.models import Setting
from tests.fixtures.factories import Runner, make_locale, register_owner
from tests.fixtures.operations import API, create_ticket

#: Keys the test jobs ran for, one entry per attempt.
RUNS: list[str] = []


async def _fail_transiently(ctx: JobContext) -> None:
    """Meet a real transient failure of the database in use."""
    session = ctx.session
    if session.bind.dialect.name == "postgresql":
        await session.execute(
            text(
                "DO $$ BEGIN RAISE EXCEPTION 'could not serialize access' "
                "USING ERRCODE = 'serialization_failure'; END $$"
            )
        )
        return
    # SQLite: this transaction holds the write lock; another connection that may not wait for
    # it is refused ("database is locked").
    await session.execute(text("SELECT 1"))
    async with ctx.state.db.read_engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            await conn.exec_driver_sql("DELETE FROM settings WHERE 0")
        finally:
            await conn.invalidate()  # its busy timeout is not the pool's


@job("test.outbox.flaky")
async def _flaky(ctx: JobContext, key: str, failures: int) -> None:
    """Fails transiently on its first ``failures`` runs, then writes the setting ``key``."""
    RUNS.append(key)
    if len(RUNS) <= failures:
        await _fail_transiently(ctx)
    ctx.session.add(Setting(key=key, value_type="str", value=key))


@job("test.outbox.broken")
async def _broken(ctx: JobContext, key: str) -> None:
    RUNS.append(key)
    raise RuntimeError("not a database problem")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "jobs_inline": True,
        "embedded_scheduler": False,
        "job_retries": 2,
        "job_retry_seconds": 0,
        "job_relay_after_seconds": 0,
    }


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    RUNS.clear()


def _engine(client: TestClient) -> JobEngine:
    engine: JobEngine = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    return engine


def _outbox(run: Runner) -> list[JobOutbox]:
    async def read(session: AsyncSession) -> list[JobOutbox]:
        return list((await session.execute(select(JobOutbox))).scalars())

    rows: list[JobOutbox] = run(read)
    return rows


def _settings(run: Runner) -> set[str]:
    async def read(session: AsyncSession) -> set[str]:
        return set((await session.execute(select(Setting.key))).scalars())

    keys: set[str] = run(read)
    return keys


def _broker_down(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(_engine(client).broker, "kick", refuse)


def _relay(client: TestClient) -> None:
    engine = _engine(client)
    client.portal.call(lambda: engine.run("jobs.relay"))  # type: ignore[union-attr]


def _queue(client: TestClient, name: str, **kwargs: Any) -> None:
    """Queue a job in a committed transaction and send it, as a request does."""
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def go() -> None:
        async with state.db.sessions() as session:
            enqueue(session, name, **kwargs)
            await session.commit()
        await state.jobs.send_pending(session)

    client.portal.call(go)  # type: ignore[union-attr]


def _diagnosed(run: Runner, ticket_id: str) -> bool:
    async def read(session: AsyncSession) -> bool:
        ticket = await session.get(ServiceTicket, uuid.UUID(ticket_id))
        assert ticket is not None
        return ticket.ai_diagnosed_at is not None

    diagnosed: bool = run(read)
    return diagnosed


def test_a_new_tickets_jobs_are_committed_with_it_and_relayed_after_a_broker_outage(
    client: TestClient, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)
    _broker_down(client, monkeypatch)
    ticket = create_ticket(client, owner, locale_id)  # 201 with the broker down
    rows = _outbox(run)
    assert sorted(row.name for row in rows) == ["events.dispatch", "tickets.diagnose"]
    assert {"ticket_id": ticket["id"]} in [row.kwargs for row in rows]
    assert not _diagnosed(run, ticket["id"])

    monkeypatch.undo()  # the broker is back
    _relay(client)
    assert _diagnosed(run, ticket["id"])
    assert _outbox(run) == []


def test_a_relay_that_finds_the_broker_still_down_keeps_the_rows_due(
    client: TestClient, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broker_down(client, monkeypatch)
    _queue(client, "test.outbox.flaky", key="later", failures=0)
    _relay(client)
    assert RUNS == []
    assert len(_outbox(run)) == 1
    monkeypatch.undo()
    _relay(client)  # due again at once, not after the broker's redelivery time
    assert RUNS == ["later"]
    assert _outbox(run) == []


def test_a_rolled_back_request_leaves_no_job_in_the_outbox(
    client: TestClient, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)
    emit = events_service.emit

    def emit_then_fail(*args: Any, **kwargs: Any) -> Any:
        emit(*args, **kwargs)  # the diagnosis and the dispatch are queued by now
        raise Conflict("The request fails after queuing its jobs.")

    monkeypatch.setattr(events_service, "emit", emit_then_fail)
    response = client.post(
        f"{API}/tickets",
        json={"title": "Fuga", "locale_id": str(locale_id)},
        headers=owner.headers,
    )
    assert response.status_code == 409, response.text
    assert _outbox(run) == []


def test_a_job_removes_its_outbox_row_when_it_commits(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)
    ticket = create_ticket(client, owner, locale_id)
    assert _diagnosed(run, ticket["id"])
    assert _outbox(run) == []


def test_a_job_failing_on_a_transient_database_error_runs_again_and_succeeds(
    client: TestClient, run: Runner
) -> None:
    _queue(client, "test.outbox.flaky", key="flaky", failures=2)
    assert RUNS == ["flaky"] * 3  # two failures, two retries (KEROPS_JOB_RETRIES=2)
    assert _settings(run) == {"flaky"}
    assert _outbox(run) == []


def test_a_job_still_failing_after_its_retries_is_left_to_the_relay_sweep(
    client: TestClient, run: Runner
) -> None:
    _queue(client, "test.outbox.flaky", key="stubborn", failures=4)
    assert len(RUNS) == 3
    [row] = _outbox(run)
    assert (row.attempts, row.failed_at) == (1, None)
    assert row.last_error is not None
    assert _settings(run) == set()

    _relay(client)  # one more failure, then it succeeds
    assert len(RUNS) == 5
    assert _settings(run) == {"stubborn"}
    assert _outbox(run) == []


def test_a_job_failing_on_another_error_is_not_retried_and_is_parked(
    client: TestClient, run: Runner
) -> None:
    _queue(client, "test.outbox.broken", key="broken")
    assert RUNS == ["broken"]
    [row] = _outbox(run)
    assert row.failed_at is not None
    assert row.last_error == "RuntimeError: not a database problem"
    _relay(client)
    assert RUNS == ["broken"]  # parked rows are not sent again


def _error_of(run: Runner, sql: str) -> BaseException:
    async def fail(session: AsyncSession) -> BaseException:
        try:
            async with session.begin_nested():
                await session.execute(text(sql))
        except Exception as exc:
            return exc
        raise AssertionError(f"{sql!r} did not fail")

    error: BaseException = run(fail)
    return error


def test_errors_of_the_job_or_its_data_are_not_transient(client: TestClient, run: Runner) -> None:
    assert not is_transient(_error_of(run, "SELECT * FROM no_such_table"))
    assert not is_transient(_error_of(run, "INSERT INTO settings (id) VALUES (NULL)"))
    assert not is_transient(RuntimeError("a bug"))


def test_a_refused_database_connection_is_transient(client: TestClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed

    async def connect() -> BaseException:
        engine = create_async_engine(f"postgresql+asyncpg://kerops@127.0.0.1:{port}/kerops")
        try:
            async with engine.connect():
                pass
        except Exception as exc:
            return exc
        finally:
            await engine.dispose()
        raise AssertionError("the connection did not fail")

    error: BaseException = client.portal.call(connect)  # type: ignore[union-attr]
    assert is_transient(error)


def test_the_relay_parks_a_job_no_version_registers_any_more(
    client: TestClient, run: Runner
) -> None:
    async def add(session: AsyncSession) -> None:
        now = utcnow()
        session.add(JobOutbox(name="gone.job", kwargs={}, created_at=now, relay_at=now))

    run(add)
    _relay(client)
    [row] = _outbox(run)
    assert row.failed_at is not None
    assert row.last_error == "unknown job"


class _WorkerStopped(BaseException):
    """Ends a job the way a stopped worker does (not an ``Exception``: nothing catches it)."""


def _relay_at(run: Runner) -> datetime:
    [row] = _outbox(run)
    return row.relay_at


def test_a_relayed_row_waits_for_the_brokers_redelivery_and_a_dead_relays_claim_is_short(
    client: TestClient, run: Runner, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = _engine(client).broker

    async def die(*_args: Any, **_kwargs: Any) -> None:
        raise _WorkerStopped  # the relay's worker is stopped mid-send

    _broker_down(client, monkeypatch)
    _queue(client, "test.outbox.flaky", key="held", failures=0)
    monkeypatch.setattr(broker, "kick", die)
    before = utcnow()
    engine = _engine(client)

    async def relay_until_stopped() -> bool:
        try:
            await engine.run("jobs.relay")
        except _WorkerStopped:
            return True
        return False

    assert client.portal.call(relay_until_stopped)  # type: ignore[union-attr]
    assert before < _relay_at(run) <= utcnow() + timedelta(seconds=CLAIM_SECONDS)

    async def lose(*_args: Any, **_kwargs: Any) -> None:
        return None  # taken by the broker, never delivered

    monkeypatch.setattr(broker, "kick", lose)

    async def due_now(session: AsyncSession) -> None:
        await session.execute(update(JobOutbox).values(relay_at=utcnow()))

    run(due_now)
    before = utcnow()
    _relay(client)
    redelivery = timedelta(seconds=settings.broker_redelivery_seconds)
    assert before + redelivery <= _relay_at(run) <= utcnow() + redelivery
    assert RUNS == []
