"""The jobs outbox: every job a transaction queues is written in that transaction.

A row exists until its job has run: it is written by the commit that queued the job (one
multi-row INSERT), the job is sent to the broker after the commit, and the job deletes the row in
its own transaction. A row whose job message never left (broker down at commit) or was lost on
the way (a broker restarted without persistence) is sent again by the relay sweep
(``jobs.relay``, :mod:`kerops.core.job_relay`) once its ``relay_at`` has passed. A job that keeps
failing is parked (``failed_at``) for an operator.

Statements are built once (module constants, rows passed as parameters) so SQLAlchemy compiles
each once per process.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Delete,
    Index,
    Insert,
    String,
    Table,
    Update,
    bindparam,
    case,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.filtering import one_of
from kerops.core.models import Base, IdMixin
from kerops.core.types import UTCDateTime

#: A row whose job failed (after its retries) this many times is parked for an operator.
MAX_ATTEMPTS = 10
#: Longest error text kept on a row.
ERROR_CHARS = 500
#: Key of a session factory's ``info``: seconds before the relay sweep may send a queued job.
RELAY_AFTER_KEY = "kerops_job_relay_after_seconds"
#: ... for sessions made outside the app's factories.
DEFAULT_RELAY_AFTER = 60


class JobOutbox(IdMixin, Base):
    """A job queued by a committed transaction and not run yet."""

    __tablename__ = "job_outbox"
    __audited__: ClassVar[bool] = False
    __table_args__ = (Index("ix_job_outbox_failed_at_relay_at", "failed_at", "relay_at"),)

    name: Mapped[str] = mapped_column(String(128))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    #: When the relay sweep may send the job (again) if it has still not run by then.
    relay_at: Mapped[datetime]
    #: Runs that failed (each after its retries on transient database errors).
    attempts: Mapped[int] = mapped_column(default=0)
    #: Set when the job is given up on (a non-transient error, or MAX_ATTEMPTS failures).
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(ERROR_CHARS))


TABLE: Table = JobOutbox.__table__  # type: ignore[assignment]

#: The queued jobs of a commit: one statement, its rows passed as parameters.
INSERT: Insert = insert(TABLE)

#: A job's own row, deleted in the job's transaction.
DELETE_ONE: Delete = delete(TABLE).where(TABLE.c.id == bindparam("outbox_id"))

_GIVE_UP = bindparam("give_up", type_=Boolean) | (TABLE.c.attempts + 1 >= MAX_ATTEMPTS)

#: After a failed run: count it, relay later, park the row when given up on.
RECORD_FAILURE: Update = (
    update(TABLE)
    .where(TABLE.c.id == bindparam("outbox_id"), TABLE.c.failed_at.is_(None))
    .values(
        attempts=TABLE.c.attempts + 1,
        relay_at=bindparam("relay_at"),
        last_error=bindparam("error"),
        failed_at=case((_GIVE_UP, bindparam("now", type_=UTCDateTime())), else_=None),
    )
)


def _claim(dialect_name: str) -> Update:
    due = (
        select(TABLE.c.id)
        .where(TABLE.c.failed_at.is_(None), TABLE.c.relay_at <= bindparam("now"))
        .order_by(TABLE.c.relay_at)
        .limit(bindparam("limit"))
    )
    if dialect_name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return (
        update(TABLE)
        .where(TABLE.c.id.in_(due.scalar_subquery()))
        .values(relay_at=bindparam("relay_at"))
        .returning(TABLE.c.id, TABLE.c.name, TABLE.c.kwargs)
    )


def _release(dialect_name: str) -> Update:
    return (
        update(TABLE)
        .where(one_of(TABLE.c.id, "ids", dialect_name))
        .values(relay_at=bindparam("relay_at"))
    )


#: Rows due for the relay, claimed (their ``relay_at`` moved on) as they are read.
CLAIM: dict[str, Update] = {name: _claim(name) for name in ("postgresql", "sqlite")}
#: Claimed rows, sent or not: due again at ``relay_at``.
RELEASE: dict[str, Update] = {name: _release(name) for name in ("postgresql", "sqlite")}
