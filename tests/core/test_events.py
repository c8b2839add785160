"""The events outbox: written with the change, dispatched after commit to every subscriber,
retried by the sweep when a subscriber failed or the dispatch message was lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.jobs import JobContext, take_pending
from kerops.core.types import utcnow
from kerops.events import service as events
from kerops.events.models import Event

RECEIVED: list[str] = []
FAIL: set[str] = set()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


@pytest.fixture(autouse=True)
def _subscriber() -> Any:
    RECEIVED.clear()
    FAIL.clear()

    async def record(ctx: JobContext, event: Event) -> None:
        if event.type in FAIL:
            raise RuntimeError("subscriber down")
        RECEIVED.append(event.type)
        if event.type == "test.slow":
            await asyncio.sleep(0.2)  # still in its transaction when a second dispatch starts

    events.SUBSCRIBERS["test.record"] = record
    yield
    del events.SUBSCRIBERS["test.record"]


def _emit(client: TestClient, event_type: str, *, commit: bool = True, send: bool = True) -> None:
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def go() -> None:
        async with state.db.sessions() as session:
            events.emit(session, event_type, client_id=None, payload={"n": 1})
            if commit:
                await session.commit()
                if send:
                    await state.jobs.send_pending(session)
                else:
                    take_pending(session)
            else:
                await session.rollback()
                take_pending(session)

    client.portal.call(go)  # type: ignore[union-attr]


def _events(run: Any) -> list[Event]:
    async def read(session: AsyncSession) -> list[Event]:
        return list((await session.execute(select(Event).order_by(Event.created_at))).scalars())

    result: list[Event] = run(read)
    return result


def test_an_event_is_dispatched_after_commit(client: TestClient, run: Any) -> None:
    _emit(client, "ticket.created")
    assert RECEIVED == ["ticket.created"]
    (event,) = _events(run)
    assert event.dispatched_at is not None and event.payload == {"n": 1}


def test_two_dispatches_of_one_event_at_once_hand_it_over_once(
    client: TestClient, run: Any
) -> None:
    _emit(client, "test.slow", send=False)
    (event,) = _events(run)
    assert event.dispatched_at is None
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]

    async def twice() -> None:
        await asyncio.gather(
            *(jobs.run("events.dispatch", event_id=str(event.id)) for _ in range(2))
        )

    client.portal.call(twice)  # type: ignore[union-attr]
    assert RECEIVED == ["test.slow"]
    (event,) = _events(run)
    assert event.dispatched_at is not None and event.attempts == 0


def test_a_rolled_back_change_has_no_event(client: TestClient, run: Any) -> None:
    _emit(client, "ticket.created", commit=False)
    assert RECEIVED == [] and _events(run) == []


def test_a_failed_subscriber_leaves_the_event_for_the_sweep(client: TestClient, run: Any) -> None:
    FAIL.add("sla.breached")
    _emit(client, "sla.breached")
    (event,) = _events(run)
    assert event.dispatched_at is None and event.attempts == 1
    FAIL.clear()
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    # Too recent for the sweep: its own dispatch may still be on its way.
    client.portal.call(lambda: jobs.run("events.sweep"))  # type: ignore[union-attr]
    assert RECEIVED == []

    async def age(session: AsyncSession) -> None:
        await session.execute(update(Event).values(created_at=utcnow() - timedelta(minutes=5)))

    run(age)
    client.portal.call(lambda: jobs.run("events.sweep"))  # type: ignore[union-attr]
    assert RECEIVED == ["sla.breached"]
    (event,) = _events(run)
    assert event.dispatched_at is not None
    # Dispatching again (a duplicate message) does nothing.
    client.portal.call(lambda: jobs.run("events.dispatch", event_id=str(event.id)))  # type: ignore[union-attr]
    assert RECEIVED == ["sla.breached"]


def test_the_sweep_gives_up_after_max_attempts(client: TestClient, run: Any) -> None:
    FAIL.add("plan.generated")
    _emit(client, "plan.generated")

    async def exhaust(session: AsyncSession) -> None:
        await session.execute(
            update(Event).values(
                created_at=utcnow() - timedelta(minutes=5), attempts=events.MAX_ATTEMPTS
            )
        )

    run(exhaust)
    FAIL.clear()
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run("events.sweep"))  # type: ignore[union-attr]
    assert RECEIVED == []


def test_a_failed_subscriber_undoes_what_the_others_wrote_for_the_event(
    client: TestClient, run: Any
) -> None:
    async def write(ctx: JobContext, event: Event) -> None:
        if event.type == "stock.low":
            events.emit(ctx.session, "test.side_effect", client_id=None)

    # Registered before the failing one: its work is rolled back with the failure.
    subscribers = dict(events.SUBSCRIBERS)
    events.SUBSCRIBERS.clear()
    events.SUBSCRIBERS.update({"test.write": write, **subscribers})
    try:
        FAIL.add("stock.low")
        _emit(client, "stock.low")
    finally:
        events.SUBSCRIBERS.clear()
        events.SUBSCRIBERS.update(subscribers)
    (event,) = _events(run)
    assert (event.type, event.dispatched_at, event.attempts) == ("stock.low", None, 1)


def test_a_failed_event_of_a_sweep_drops_the_jobs_and_follow_up_work_it_queued(
    client: TestClient, run: Any
) -> None:
    followed: list[str] = []

    async def queue_work(ctx: JobContext, event: Event) -> None:
        async def follow_up() -> None:
            followed.append(event.type)

        ctx.enqueue("events.sweep")  # a job: must not be sent for the failed event
        ctx.after_commit(follow_up)

    subscribers = dict(events.SUBSCRIBERS)
    events.SUBSCRIBERS.clear()
    events.SUBSCRIBERS.update({"test.queue": queue_work, **subscribers})
    try:
        FAIL.add("sensor.alert")
        _emit(client, "sensor.alert")  # its own dispatch fails: nothing follows
        _emit(client, "plan.generated")
        assert followed == ["plan.generated"]

        async def undispatch_and_age(session: AsyncSession) -> None:
            await session.execute(
                update(Event).values(dispatched_at=None, created_at=utcnow() - timedelta(minutes=5))
            )

        run(undispatch_and_age)
        followed.clear()
        jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
        sent: list[str] = []
        real_send = jobs.send

        async def send(name: str, **kwargs: Any) -> None:
            sent.append(name)  # recorded, not run: the sweep would sweep again

        jobs.send = send
        try:
            client.portal.call(lambda: jobs.run("events.sweep"))  # type: ignore[union-attr]
        finally:
            jobs.send = real_send
    finally:
        events.SUBSCRIBERS.clear()
        events.SUBSCRIBERS.update(subscribers)
    # One sweep, two events: the failed one's savepoint took its job and follow-up with it.
    assert followed == ["plan.generated"]
    assert sent == ["events.sweep"]


def test_the_sweep_dispatches_the_other_events_when_one_fails(client: TestClient, run: Any) -> None:
    FAIL.add("sensor.alert")
    _emit(client, "sensor.alert")
    FAIL.clear()
    _emit(client, "plan.generated")
    RECEIVED.clear()

    async def undispatch_and_age(session: AsyncSession) -> None:
        await session.execute(
            update(Event).values(dispatched_at=None, created_at=utcnow() - timedelta(minutes=5))
        )

    run(undispatch_and_age)
    FAIL.add("sensor.alert")
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run("events.sweep"))  # type: ignore[union-attr]
    by_type = {e.type: e for e in _events(run)}
    assert RECEIVED == ["plan.generated"]
    assert by_type["plan.generated"].dispatched_at is not None
    assert (by_type["sensor.alert"].dispatched_at, by_type["sensor.alert"].attempts) == (None, 2)
