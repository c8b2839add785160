"""Schemas of work logs (a technician's time on a ticket) and labour rates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from kerops.core.enums import WorkLogCategory
from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_
from kerops.core.schemas import (
    ApiDateTime,
    Currency,
    InputModel,
    ReadModel,
    no_nul,
    refuse_null,
)

#: The longest span one log covers (a longer job is logged per day).
MAX_LOG = timedelta(hours=24)
MAX_MINUTES = int(MAX_LOG.total_seconds()) // 60


def _in_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


#: An instant of the API's range (a naive one is refused), normalised to UTC.
Instant = Annotated[ApiDateTime, AfterValidator(_in_utc)]
Notes = Annotated[str, StringConstraints(max_length=2000), AfterValidator(no_nul)]
Minutes = Annotated[int, Field(ge=1, le=MAX_MINUTES)]
#: An hourly rate in minor units of its currency (CLP has none: 15000 is $15.000 an hour).
HourlyRate = Annotated[int, Field(ge=0, le=100_000_000_000)]


def span_problem(started_at: datetime, ended_at: datetime) -> InvalidValue | None:
    """Why a log's span is not acceptable (translated where shown), or None."""
    if ended_at <= started_at:
        return InvalidValue(N_("ended_at must be after started_at"))
    if ended_at - started_at > MAX_LOG:
        return InvalidValue(N_("a work log spans at most {hours} hours"), hours=24)
    return None


class WorkLogCreate(InputModel):
    """A manual entry of time on a ticket: ``started_at`` and either ``ended_at`` or
    ``minutes``. ``technician_id`` defaults to the caller (a technician logs only their own
    time; a manager logs for anyone working on the client)."""

    technician_id: uuid.UUID | None = None
    started_at: Instant
    ended_at: Instant | None = None
    minutes: Minutes | None = None
    category: WorkLogCategory = WorkLogCategory.work
    billable: bool = True
    notes: Notes = ""

    @model_validator(mode="after")
    def _span(self) -> Self:
        if (self.ended_at is None) == (self.minutes is None):
            raise InvalidValue(N_("give ended_at or minutes, one of them"))
        if self.ended_at is not None:
            problem = span_problem(self.started_at, self.ended_at)
            if problem:
                raise problem
        return self


class TimerStart(InputModel):
    """A timer started now for ``technician_id`` (the caller when left out; a manager may
    start one for anyone working on the client)."""

    technician_id: uuid.UUID | None = None
    category: WorkLogCategory = WorkLogCategory.work
    billable: bool = True
    notes: Notes = ""


class TimerStop(InputModel):
    """A timer stopped now, of ``technician_id`` (the caller when left out), with notes
    appended to the log's."""

    technician_id: uuid.UUID | None = None
    notes: Notes = ""


class WorkLogUpdate(InputModel):
    """Changes to a log (only the fields given; its technician and ticket stay). Changing the
    span takes ``started_at`` and ``ended_at`` or ``minutes`` (not both)."""

    started_at: Instant | None = None
    ended_at: Instant | None = None
    minutes: Minutes | None = None
    category: WorkLogCategory | None = None
    billable: bool | None = None
    notes: Notes | None = None

    @field_validator("started_at", "ended_at", "minutes", "category", "billable", "notes")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if self.ended_at is not None and self.minutes is not None:
            raise InvalidValue(N_("give ended_at or minutes, one of them"))
        return self


class WorkLogRead(ReadModel):
    """A span of a technician's time on a ticket; times in UTC. ``ended_at``, ``minutes`` are
    null while its timer runs; ``cost_minor`` = minutes * hourly rate / 60, half up."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID
    ticket_id: uuid.UUID
    technician_id: uuid.UUID
    vendor_id: uuid.UUID | None
    category: WorkLogCategory
    started_at: datetime
    ended_at: datetime | None
    minutes: int | None
    hourly_rate_minor: int
    currency: str
    cost_minor: int
    billable: bool
    notes: str
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class RateCreate(InputModel):
    """An hourly rate of the caller's client: a technician's own (``technician_id``) or a
    vendor's rate card line (``vendor_id``), for one category or, null, for every category
    without a line of its own."""

    technician_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    category: WorkLogCategory | None = None
    hourly_rate_minor: HourlyRate
    currency: Currency = "CLP"

    @model_validator(mode="after")
    def _one_holder(self) -> Self:
        if (self.technician_id is None) == (self.vendor_id is None):
            raise InvalidValue(N_("give technician_id or vendor_id, one of them"))
        return self


class RateUpdate(InputModel):
    """A rate's new amount or currency (the logs already costed keep theirs)."""

    hourly_rate_minor: HourlyRate | None = None
    currency: Currency | None = None

    @field_validator("hourly_rate_minor", "currency")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class RateRead(ReadModel):
    """An hourly rate of a client (a technician's own or a vendor's rate card line)."""

    id: uuid.UUID
    client_id: uuid.UUID
    technician_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    category: WorkLogCategory | None
    hourly_rate_minor: int
    currency: str
    created_at: datetime
    updated_at: datetime
