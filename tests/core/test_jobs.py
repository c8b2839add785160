"""The job engine: jobs run in their own transaction, are sent only after the queuing
transaction commits, chain, fail alone; brokers by URL; periodic jobs carry their schedule."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import InMemoryBroker
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_aio_pika import AioPikaBroker
from taskiq_redis import RedisStreamBroker

from kerops.cli import main as cli_main
from kerops.config import Settings
from kerops.core.jobs import REGISTRY, JobContext, JobEngine, build_broker, enqueue, job
from kerops.system.models import Setting

#: What the test jobs saw, in order.
SEEN: list[str] = []


@job("test.write_setting")
async def _write_setting(ctx: JobContext, key: str, then: str | None = None) -> None:
    SEEN.append(key)
    ctx.session.add(Setting(key=key, value_type="str", value=key))
    if then is not None:
        ctx.enqueue("test.write_setting", key=then)


@job("test.fail_after_write")
async def _fail_after_write(ctx: JobContext, key: str) -> None:
    SEEN.append(key)
    ctx.session.add(Setting(key=key, value_type="str", value=key))
    ctx.enqueue("test.write_setting", key=f"{key}-never")
    await ctx.session.flush()
    raise RuntimeError("the job breaks after writing")


@job("test.after_commit")
async def _after_commit(ctx: JobContext, key: str, fail: str = "") -> None:
    async def note_committed() -> None:
        # Runs after the commit: a new session sees the job's row.
        async with ctx.state.db.sessions() as session:
            seen = (
                await session.execute(select(Setting.id).where(Setting.key == key))
            ).scalar_one_or_none()
            SEEN.append(f"after:{key}:{'committed' if seen else 'missing'}")
        if fail == "after":
            raise RuntimeError("the follow-up breaks")

    SEEN.append(key)
    ctx.session.add(Setting(key=key, value_type="str", value=key))
    ctx.after_commit(note_committed)
    if fail == "job":
        await ctx.session.flush()
        raise RuntimeError("the job breaks after queuing follow-up work")


@job("test.periodic", cron="*/5 * * * *")
async def _periodic(ctx: JobContext) -> None:
    SEEN.append("periodic")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    SEEN.clear()


def _keys(run: Any) -> set[str]:
    async def read(session: AsyncSession) -> set[str]:
        return set((await session.execute(select(Setting.key))).scalars())

    result: set[str] = run(read)
    return result


def _engine(client: TestClient) -> JobEngine:
    engine: JobEngine = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    return engine


def _queue_and_finish(client: TestClient, *, commit: bool, **kwargs: Any) -> None:
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def go() -> None:
        async with state.db.sessions() as session:
            enqueue(session, "test.write_setting", **kwargs)
            session.add(Setting(key="queued-by", value_type="str", value="request"))
            if commit:
                await session.commit()
                await state.jobs.send_pending(session)
            else:
                await session.rollback()
                from kerops.core.jobs import take_pending

                take_pending(session)
            await state.jobs.send_pending(session)

    client.portal.call(go)  # type: ignore[union-attr]


def test_jobs_queued_in_a_committed_transaction_run_and_chain(client: TestClient, run: Any) -> None:
    _queue_and_finish(client, commit=True, key="first", then="second")
    assert SEEN == ["first", "second"]
    assert _keys(run) == {"queued-by", "first", "second"}


def test_a_rolled_back_transaction_sends_nothing(client: TestClient, run: Any) -> None:
    _queue_and_finish(client, commit=False, key="ghost")
    assert SEEN == []
    assert _keys(run) == set()


def test_a_failing_job_keeps_nothing_and_sends_nothing(client: TestClient, run: Any) -> None:
    engine = _engine(client)

    async def go() -> None:
        with pytest.raises(RuntimeError):
            await engine.run("test.fail_after_write", key="broken")
        await engine.run("test.write_setting", key="after")

    client.portal.call(go)  # type: ignore[union-attr]
    assert SEEN == ["broken", "after"]
    assert _keys(run) == {"after"}


def test_after_commit_work_runs_once_the_job_committed_and_never_after_a_rollback(
    client: TestClient, run: Any
) -> None:
    engine = _engine(client)

    async def go() -> None:
        await engine.run("test.after_commit", key="kept")
        with pytest.raises(RuntimeError):
            await engine.run("test.after_commit", key="undone", fail="job")
        # Failing follow-up work is logged; the job's committed work stays.
        await engine.run("test.after_commit", key="follow-up-breaks", fail="after")

    client.portal.call(go)  # type: ignore[union-attr]
    assert SEEN == [
        "kept",
        "after:kept:committed",
        "undone",
        "follow-up-breaks",
        "after:follow-up-breaks:committed",
    ]
    assert _keys(run) == {"kept", "follow-up-breaks"}


def test_a_failing_job_sent_through_the_broker_does_not_break_the_sender(
    client: TestClient, run: Any
) -> None:
    engine = _engine(client)
    client.portal.call(engine.send, "test.fail_after_write")  # type: ignore[union-attr]
    # A missing argument is refused by the receiver; the job body never ran.
    assert SEEN == []
    client.portal.call(lambda: engine.send("test.write_setting", key="fine"))  # type: ignore[union-attr]
    assert SEEN == ["fine"]


def test_unknown_jobs_are_refused_when_queued(client: TestClient) -> None:
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def go() -> None:
        async with state.db.sessions() as session:
            with pytest.raises(KeyError):
                enqueue(session, "no.such.job")

    client.portal.call(go)  # type: ignore[union-attr]


def test_periodic_jobs_carry_their_schedule(client: TestClient) -> None:
    engine = _engine(client)

    async def schedules() -> dict[str, Any]:
        source = LabelScheduleSource(engine.broker)
        await source.startup()
        found = await source.get_schedules()
        return {s.task_name: s.cron or s.interval for s in found}

    crons = client.portal.call(schedules)  # type: ignore[union-attr]
    assert crons["test.periodic"] == "*/5 * * * *"
    assert "test.write_setting" not in crons
    for spec in REGISTRY.values():
        if spec.cron or spec.every_seconds:
            assert crons[spec.name] == (spec.every_seconds or spec.cron)


def test_periods_can_be_changed_by_setting(tmp_path: Any) -> None:
    engine = JobEngine(Settings(data_dir=tmp_path, job_intervals={"test.periodic": 7}))
    task = engine.broker.find_task("test.periodic")
    assert task is not None
    assert task.labels["schedule"] == [{"interval": 7, "schedule_id": "test.periodic"}]


def test_the_embedded_scheduler_runs_periodic_jobs(client: TestClient, tmp_path: Any) -> None:
    """In the single-process default, the scheduler inside the service sends periodic jobs."""
    import time

    state = client.app.state.kerops  # type: ignore[attr-defined]
    engine = JobEngine(
        Settings(
            data_dir=tmp_path,
            database_url=state.settings.database_url,
            job_intervals={"test.periodic": 1},
        )
    )

    async def start() -> None:
        await engine.start(state, scheduler=True)

    client.portal.call(start)  # type: ignore[union-attr]
    try:
        deadline = time.monotonic() + 10
        while "periodic" not in SEEN and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        client.portal.call(engine.stop)  # type: ignore[union-attr]
    assert "periodic" in SEEN


def test_brokers_by_url(tmp_path: Any) -> None:
    def broker(url: str | None) -> object:
        return build_broker(Settings(data_dir=tmp_path, broker_url=url))

    assert isinstance(broker(None), InMemoryBroker)
    assert isinstance(broker("redis://127.0.0.1:6379/0"), RedisStreamBroker)
    assert isinstance(broker("amqp://guest:guest@127.0.0.1:5672/"), AioPikaBroker)
    with pytest.raises(ValueError, match="unsupported broker"):
        broker("kafka://127.0.0.1:9092")


def test_worker_and_scheduler_commands_need_a_broker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEROPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEROPS_BROKER_URL", raising=False)
    for command in ("worker", "scheduler"):
        assert cli_main([command]) == 2
        assert "KEROPS_BROKER_URL" in capsys.readouterr().out


def test_job_counts_stay_consistent(client: TestClient, run: Any) -> None:
    """Ten jobs sent at once each commit their own row exactly once."""
    engine = _engine(client)

    async def go() -> None:
        for n in range(10):
            await engine.send("test.write_setting", key=f"k{n}")
        await engine.wait_idle()

    client.portal.call(go)  # type: ignore[union-attr]

    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(Setting))).scalar_one())

    assert run(count) == 10


@job("test.stuck")
async def _stuck(ctx: JobContext) -> None:
    SEEN.append("stuck")
    await asyncio.Event().wait()


def test_stopping_does_not_wait_forever_for_a_stuck_job(
    client: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kerops.core.jobs as jobs_module

    monkeypatch.setattr(jobs_module, "STOP_GRACE_SECONDS", 0.2)
    state = client.app.state.kerops  # type: ignore[attr-defined]
    engine = JobEngine(Settings(data_dir=tmp_path, database_url=state.settings.database_url))

    async def go() -> bool:
        await engine.start(state)
        await engine.send("test.stuck")
        await asyncio.sleep(0.05)
        await engine.stop()
        return bool(engine.broker._running_tasks)  # type: ignore[attr-defined]

    still_running = client.portal.call(go)  # type: ignore[union-attr]
    assert SEEN == ["stuck"]
    assert still_running is False


def test_waiting_for_idle_yields_to_a_finished_jobs_callback(client: TestClient) -> None:
    """A job that has finished but whose done callback has not run yet does not make the wait
    spin (it ran forever on the event loop, blocking even its own timeout)."""
    engine = _engine(client)

    async def go() -> bool:
        broker = engine.broker
        assert isinstance(broker, InMemoryBroker)

        async def finished() -> None:
            return None

        task = asyncio.get_running_loop().create_task(finished())
        task.add_done_callback(broker._running_tasks.discard)
        broker._running_tasks.add(task)
        # Runs the task to its end; its done callbacks are queued behind this coroutine.
        await asyncio.sleep(0)
        assert task.done() and task in broker._running_tasks
        await engine.wait_idle()
        return task not in broker._running_tasks

    assert client.portal.call(go) is True  # type: ignore[union-attr]
