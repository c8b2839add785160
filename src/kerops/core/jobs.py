"""Background jobs on taskiq: in-process by default, Redis Streams or RabbitMQ to scale out.

A job is an ``async def fn(ctx: JobContext, **kwargs)`` registered with :func:`job`. It runs in
its own transaction (committed when it returns, rolled back when it raises), and must be
idempotent: brokers deliver at least once. Jobs are queued with :func:`enqueue` on a session;
they are written to the jobs outbox by that session's commit (:mod:`kerops.core.job_outbox`) and
sent only after it (a rolled-back request or job writes and sends nothing). A job deletes its
outbox row in its own transaction; a row left (the broker was down, the message was lost, the
job failed) is sent again by the relay sweep ``jobs.relay``. A job failing on a transient
database error is run again with backoff (``KEROPS_JOB_RETRIES``, ``KEROPS_JOB_RETRY_SECONDS``).

Brokers (``KEROPS_BROKER_URL``):

- unset: taskiq's in-memory broker; jobs run in the serving process and the scheduler runs inside
  ``kerops serve`` (one command does everything);
- ``redis://…``: Redis Streams (acknowledged delivery; unacknowledged messages are re-claimed);
- ``amqp://…``: RabbitMQ.

With an external broker, ``kerops worker`` consumes jobs (any number of processes and machines)
and ``kerops scheduler`` (exactly one) sends the periodic ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from taskiq import AsyncBroker, InMemoryBroker, TaskiqEvents, TaskiqScheduler, TaskiqState
from taskiq.kicker import AsyncKicker
from taskiq.schedule_sources import LabelScheduleSource

from kerops.config import Settings
from kerops.core import job_outbox, row_scope
from kerops.core.audit import set_audit_context
from kerops.core.principal import AuditContext
from kerops.core.transient import is_transient
from kerops.core.types import utcnow, uuid7

if TYPE_CHECKING:
    from kerops.core.db import Database
    from kerops.core.mail import Sender
    from kerops.core.security import Security

log = logging.getLogger("kerops.jobs")

#: The job running in the current task, if any (lets tests tell job SQL from request SQL).
current_job: ContextVar[str | None] = ContextVar("kerops_current_job", default=None)

#: How long stopping waits for the jobs running in this process before cancelling them.
STOP_GRACE_SECONDS = 10.0

#: Key of ``session.info`` holding the jobs queued in that session's transaction.
_PENDING = "kerops_pending_jobs"
#: Key of ``session.info``: how many of the queued jobs a commit already wrote to the outbox.
_WRITTEN = "kerops_pending_jobs_written"
#: Key of ``session.info`` holding the work a job does once its transaction committed.
_AFTER_COMMIT = "kerops_after_commit"
#: The keyword a job message carries its outbox row's id in (taken off before the job runs).
OUTBOX_KEY = "_kerops_outbox_id"

AfterCommit = Callable[[], Awaitable[None]]


_T = TypeVar("_T")


class JobHost(Protocol):
    """What the engine and a running job see of the process's services (``AppState`` is one).

    Declared here, not imported from ``kerops.core.state``: the app state holds the job engine,
    so the engine names only what it and the jobs use.
    """

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def security(self) -> Security: ...
    @property
    def sender(self) -> Sender: ...
    @property
    def jobs(self) -> JobEngine: ...
    def service(self, cls: type[_T]) -> _T:
        """The ``cls`` this app instance keeps (``AppState.service``)."""
        ...


@dataclass
class JobContext:
    """What a running job has: the app's services and its own session (one transaction)."""

    state: JobHost
    session: AsyncSession
    name: str

    def enqueue(self, name: str, **kwargs: Any) -> None:
        """Queue another job, sent once this job's transaction commits."""
        enqueue(self.session, name, **kwargs)

    def after_commit(self, fn: AfterCommit) -> None:
        """Run ``await fn()`` in this job once its transaction committed (never after a
        rollback). For follow-up work too small to be a job of its own; it must be safe to
        lose (a crash right after the commit skips it), as a lost job message would be."""
        self.session.info.setdefault(_AFTER_COMMIT, []).append(fn)


JobFn = Callable[..., Awaitable[Any]]


class QueuedJob(NamedTuple):
    """A job queued in a transaction, with the id of its outbox row."""

    name: str
    kwargs: dict[str, Any]
    outbox_id: uuid.UUID


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its name, function and optional period (UTC cron, or seconds)."""

    name: str
    fn: JobFn
    cron: str | None = None
    every_seconds: int | None = None


#: Every job of the app, by name (filled at import by the modules' ``jobs`` files).
REGISTRY: dict[str, JobSpec] = {}

#: Modules that declare jobs (imported before a broker registers them): the app names them
#: (``kerops.modules.JOB_MODULES``, through ``add_job_modules``); core names no domain.
JOB_MODULES: list[str] = []


def add_job_modules(*modules: str) -> None:
    """Name modules that declare jobs, to be imported by ``load_job_modules``."""
    JOB_MODULES.extend(module for module in modules if module not in JOB_MODULES)


def job(
    name: str, *, cron: str | None = None, every_seconds: int | None = None
) -> Callable[[JobFn], JobFn]:
    """Register ``fn(ctx, **kwargs)`` as the job ``name``; periodic with ``cron`` (UTC) or
    ``every_seconds`` (``KEROPS_JOB_INTERVALS`` may change either to a number of seconds)."""

    def register(fn: JobFn) -> JobFn:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"job {name!r} registered twice")
        REGISTRY[name] = JobSpec(name=name, fn=fn, cron=cron, every_seconds=every_seconds)
        return fn

    return register


def load_job_modules() -> None:
    """Import the modules declaring jobs, so the registry is complete."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)


def enqueue(session: AsyncSession, name: str, **kwargs: Any) -> None:
    """Queue job ``name`` with JSON-able ``kwargs``: written to the outbox by ``session``'s
    commit, sent after it."""
    if name not in REGISTRY:
        raise KeyError(f"unknown job {name!r}")
    session.info.setdefault(_PENDING, []).append(QueuedJob(name, kwargs, uuid7()))


def take_pending(session: AsyncSession) -> list[QueuedJob]:
    """The jobs queued in ``session`` (and forget them): to send after commit, or to drop.
    Work queued with :meth:`JobContext.after_commit` is forgotten too."""
    session.info.pop(_AFTER_COMMIT, None)
    session.info.pop(_WRITTEN, None)
    pending: list[QueuedJob] = session.info.pop(_PENDING, [])
    return pending


@event.listens_for(Session, "before_commit")
def _write_outbox(session: Session) -> None:
    """Write the jobs queued since the last commit to the outbox, in the committing
    transaction: one INSERT, its rows as parameters."""
    pending: list[QueuedJob] | None = session.info.get(_PENDING)
    written: int = session.info.get(_WRITTEN, 0)
    if not pending or written >= len(pending):
        return
    now = utcnow()
    delay = session.info.get(job_outbox.RELAY_AFTER_KEY, job_outbox.DEFAULT_RELAY_AFTER)
    relay_at = now + timedelta(seconds=delay)
    rows = [
        {
            "id": queued.outbox_id,
            "name": queued.name,
            "kwargs": queued.kwargs,
            "created_at": now,
            "relay_at": relay_at,
            "attempts": 0,
        }
        for queued in pending[written:]
    ]
    session.connection().execute(job_outbox.INSERT, rows)
    session.info[_WRITTEN] = len(pending)


def queued_mark(session: AsyncSession) -> tuple[int, int]:
    """How much is queued in ``session`` now (jobs, after-commit work): before a savepoint."""
    info = session.info
    return len(info.get(_PENDING, ())), len(info.get(_AFTER_COMMIT, ()))


def drop_queued_since(session: AsyncSession, mark: tuple[int, int]) -> None:
    """Forget what was queued after ``mark``: its savepoint was rolled back."""
    for key, kept in zip((_PENDING, _AFTER_COMMIT), mark, strict=True):
        if key in session.info:
            del session.info[key][kept:]


def build_broker(settings: Settings) -> AsyncBroker:
    """The broker ``settings.broker_url`` names (in-memory when unset)."""
    url = settings.broker_url
    if not url:
        return InMemoryBroker(await_inplace=settings.jobs_inline, propagate_exceptions=False)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from taskiq_redis import RedisStreamBroker

        return RedisStreamBroker(
            url,
            queue_name=settings.broker_queue,
            consumer_group_name=settings.broker_queue,
            # A group created after messages were added (a Redis restarted without persistence:
            # the relay or the API may send before a worker declares the group again) reads the
            # stream from its start, not only what comes after it.
            consumer_id="0",
            # Messages a dead worker took are re-delivered after this many milliseconds.
            idle_timeout=settings.broker_redelivery_seconds * 1000,
        )
    if url.startswith(("amqp://", "amqps://")):
        from taskiq_aio_pika import AioPikaBroker

        return AioPikaBroker(url)
    raise ValueError(f"unsupported broker URL scheme: {url.split(':', 1)[0]!r}")


@dataclass
class JobEngine:
    """The broker of one process, with every registered job bound to the process's state."""

    settings: Settings
    broker: AsyncBroker = field(init=False)
    state: JobHost | None = None
    _scheduler_task: asyncio.Task[None] | None = None
    _started: bool = False

    def __post_init__(self) -> None:
        self.broker = build_broker(self.settings)
        load_job_modules()
        for spec in REGISTRY.values():
            labels: dict[str, Any] = {}
            every = self.settings.job_intervals.get(spec.name, spec.every_seconds)
            if every:
                labels["schedule"] = [{"interval": every, "schedule_id": spec.name}]
            elif spec.cron:
                labels["schedule"] = [{"cron": spec.cron, "schedule_id": spec.name}]
            self.broker.register_task(self._runner(spec), task_name=spec.name, **labels)

    @property
    def in_process(self) -> bool:
        """Whether jobs run in this process (the embedded in-memory broker)."""
        return isinstance(self.broker, InMemoryBroker)

    def scheduler(self) -> TaskiqScheduler:
        """The scheduler of the periodic jobs (their ``cron`` labels)."""
        return TaskiqScheduler(self.broker, [LabelScheduleSource(self.broker)])

    def _runner(self, spec: JobSpec) -> Callable[..., Awaitable[None]]:
        async def run(**kwargs: Any) -> None:
            await self.run(spec.name, **kwargs)

        run.__name__ = spec.name.replace(".", "_")
        return run

    async def run(self, name: str, **kwargs: Any) -> None:
        """Run job ``name`` now, in this process, in its own transaction; again with backoff
        while it fails on a transient database error (``KEROPS_JOB_RETRIES``)."""
        state = self.state
        if state is None:
            raise RuntimeError("the job engine has no app state; call start() first")
        spec = REGISTRY[name]
        outbox_id = kwargs.pop(OUTBOX_KEY, None)
        token = current_job.set(name)
        # A job acts for the platform: its input is committed rows, not a caller's request,
        # and sweeps cross clients (``kerops.core.row_scope``).
        scope = row_scope.use(row_scope.PLATFORM)
        try:
            await self._run_with_retries(state, spec, kwargs, outbox_id)
        finally:
            row_scope.reset(scope)
            current_job.reset(token)

    async def _run_with_retries(
        self, state: JobHost, spec: JobSpec, kwargs: dict[str, Any], outbox_id: str | None
    ) -> None:
        settings = self.settings
        attempt = 0
        while True:
            try:
                await self._run_in_transaction(state, spec, kwargs, outbox_id)
                return
            except Exception as exc:
                transient = is_transient(exc)
                if transient and attempt < settings.job_retries:
                    delay = settings.job_retry_seconds * 2**attempt
                    attempt += 1
                    log.warning(
                        "job failed on a transient error; retrying",
                        extra={"job": spec.name, "attempt": attempt, "delay": delay},
                        exc_info=True,
                    )
                    await asyncio.sleep(delay)
                    continue
                log.exception(
                    "job failed" if not transient else "job failed; left to the relay sweep",
                    extra={"job": spec.name, "attempts": attempt + 1},
                )
                if outbox_id is not None:
                    await self._record_failure(state, outbox_id, exc, give_up=not transient)
                raise

    async def _record_failure(
        self, state: JobHost, outbox_id: str, error: BaseException, *, give_up: bool
    ) -> None:
        """Count a failed run on its outbox row: the sweep sends it again after the relay delay,
        unless it is given up on (parked for an operator)."""
        now = utcnow()
        params = {
            "outbox_id": uuid.UUID(outbox_id),
            "now": now,
            "relay_at": now + timedelta(seconds=self.settings.job_relay_after_seconds),
            "error": f"{type(error).__name__}: {error}"[: job_outbox.ERROR_CHARS],
            "give_up": give_up,
        }
        try:
            async with state.db.engine.begin() as conn:
                await conn.execute(job_outbox.RECORD_FAILURE, params)
        except Exception:
            # The row stays due as it was: the sweep sends it again.
            log.exception("could not record a failed job", extra={"outbox_id": outbox_id})

    async def _run_in_transaction(
        self, state: JobHost, spec: JobSpec, kwargs: dict[str, Any], outbox_id: str | None
    ) -> None:
        name = spec.name
        async with state.db.sessions() as session:
            set_audit_context(session.sync_session, AuditContext(request_id=f"job:{name}"))
            try:
                await spec.fn(JobContext(state=state, session=session, name=name), **kwargs)
                if outbox_id is not None:
                    # The job's row goes with the job's own changes: both or neither.
                    conn = await session.connection()
                    await conn.execute(job_outbox.DELETE_ONE, {"outbox_id": uuid.UUID(outbox_id)})
                await session.commit()
            except BaseException:
                await session.rollback()
                take_pending(session)
                raise
        after: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
        await self.send_pending(session)
        for fn in after:
            try:
                await fn()
            except Exception:
                # The job's own work is committed; what this skipped, a sweep picks up.
                log.exception("after-commit work failed", extra={"job": name})

    async def send(self, name: str, **kwargs: Any) -> None:
        """Send job ``name`` to the broker now (prefer :func:`enqueue`, sent after commit)."""
        await AsyncKicker(name, self.broker, {}).kiq(**kwargs)

    async def send_pending(self, session: AsyncSession) -> None:
        """Send the jobs queued in ``session``; call only after it committed (which wrote them
        to the outbox: a job that cannot be sent now is sent later by the relay sweep)."""
        written: int = session.info.get(_WRITTEN, 0)
        pending = take_pending(session)
        for n, queued in enumerate(pending):
            kwargs = queued.kwargs
            if n < written:
                kwargs = {**kwargs, OUTBOX_KEY: str(queued.outbox_id)}
            try:
                await self.send(queued.name, **kwargs)
            except Exception:
                # The outbox rows stay: the relay sweep sends them once the broker is back. The
                # others are not tried now (each would wait for the broker's failure again).
                log.exception(
                    "could not send job; left to the relay sweep",
                    extra={"job": queued.name, "unsent": len(pending) - n},
                )
                return

    async def start(self, state: JobHost, *, scheduler: bool = False) -> None:
        """Connect the broker as a client (and, embedded, run the periodic jobs here)."""
        self.state = state
        if self._started:
            return
        await self.broker.startup()
        self._started = True
        if scheduler:
            self._scheduler_task = asyncio.create_task(self._run_scheduler())

    async def wait_idle(self) -> None:
        """Wait for the jobs running in this process (in-memory broker) to finish."""
        if isinstance(self.broker, InMemoryBroker):
            while self.broker._running_tasks:  # no public accessor
                await self.broker.wait_all()
                # A finished task leaves the set in its done callback, which runs on the next
                # turn of the loop: yield to it, or this loop spins forever on a finished task.
                await asyncio.sleep(0)

    async def stop(self) -> None:
        """Stop the embedded scheduler, let running in-process jobs finish, disconnect."""
        if self._scheduler_task is not None:
            self._scheduler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler_task
            self._scheduler_task = None
        if self._started:
            try:
                await asyncio.wait_for(self.wait_idle(), timeout=STOP_GRACE_SECONDS)
            except TimeoutError:
                # A stuck job must not hold the process up; brokers re-deliver what it took.
                self._cancel_running()
            await self.broker.shutdown()
            self._started = False

    def _cancel_running(self) -> None:
        if isinstance(self.broker, InMemoryBroker):
            for task in list(self.broker._running_tasks):  # no public accessor
                task.cancel()
            log.warning("jobs still running at shutdown were cancelled")

    async def _run_scheduler(self) -> None:
        from taskiq.cli.scheduler.run import SchedulerLoop

        scheduler = self.scheduler()
        for source in scheduler.sources:
            await source.startup()
        await scheduler.startup()
        try:
            await SchedulerLoop(scheduler).run()
        finally:
            await scheduler.shutdown()


def worker_state_hooks(engine: JobEngine, make_state: Callable[[], JobHost]) -> None:
    """In a worker process: build the app state at start-up and dispose of it at shutdown."""

    async def startup(_: TaskiqState) -> None:
        engine.state = make_state()

    async def shutdown(_: TaskiqState) -> None:
        if engine.state is not None:
            await engine.state.db.dispose()

    engine.broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, startup)
    engine.broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, shutdown)
