"""The bodies of report schedules (``/report-schedules``)."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from kerops.core.enums import ReportFrequency
from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, Name, ReadModel, refuse_null
from kerops.users.schemas import Timezone

#: The periods a scheduled report covers, relative to the day it is sent (local dates).
Period = Literal["last_week", "last_month", "last_7_days", "last_30_days"]
Format = Literal["csv", "xlsx", "pdf"]
Language = Literal["es-CL", "en"]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
#: A filter's value as a list's query parameter takes it: a text, a number, a yes/no, or a
#: list of texts (repeated parameters).
FilterValue = (
    Annotated[str, StringConstraints(max_length=200)]
    | int
    | bool
    | Annotated[list[Annotated[str, StringConstraints(max_length=270)]], Field(max_length=20)]
)
Filters = Annotated[
    dict[Annotated[str, StringConstraints(max_length=64)], FilterValue], Field(max_length=30)
]
Recipients = Annotated[list[uuid.UUID], Field(min_length=1, max_length=50)]
MAX_DAY_OF_MONTH = 28


def _whole_minutes(value: time) -> time:
    if value.second or value.microsecond or value.tzinfo:
        raise InvalidValue(N_("a time of day in hours and minutes, without a zone"))
    return value


#: A time of day on the clock of the schedule's time zone, in whole minutes: ``HH:MM``.
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
TimeOfDay = Annotated[
    time,
    AfterValidator(_whole_minutes),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN, "maxLength": 5}),
]
#: A schedule's time of day as it is shown: ``HH:MM``.
ShownTime = Annotated[
    time,
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": TIME_PATTERN}, mode="serialization"),
]


class ScheduleCreate(InputModel):
    """A report the client sends itself: what (``kind``, ``filters``, ``format``), the period
    it covers, when (weekly on ``weekday``, 0 = Monday, or monthly on ``day_of_month``, at
    ``time_of_day`` in ``timezone``: the locale's, else America/Santiago) and to whom."""

    name: Name
    kind: Kind
    format: Format = "pdf"
    filters: Filters = Field(default_factory=dict)
    period: Period
    frequency: ReportFrequency
    weekday: Annotated[int, Field(ge=0, le=6)] | None = None
    day_of_month: Annotated[int, Field(ge=1, le=MAX_DAY_OF_MONTH)] | None = None
    time_of_day: TimeOfDay
    timezone: Timezone | None = None
    locale_id: uuid.UUID | None = None
    language: Language | None = None
    recipients: Recipients
    skip_empty: bool = False
    is_active: bool = True

    @model_validator(mode="after")
    def _day_of_its_frequency(self) -> Self:
        check_days(self.frequency, self.weekday, self.day_of_month)
        return self


def check_days(frequency: ReportFrequency, weekday: int | None, day_of_month: int | None) -> None:
    """A weekly schedule names its weekday and no day of the month; a monthly one the reverse."""
    if frequency is ReportFrequency.weekly and (weekday is None or day_of_month is not None):
        raise InvalidValue(N_("a weekly schedule takes a weekday and no day_of_month"))
    if frequency is ReportFrequency.monthly and (day_of_month is None or weekday is not None):
        raise InvalidValue(N_("a monthly schedule takes a day_of_month and no weekday"))


class ScheduleUpdate(InputModel):
    """Changes to a schedule (its days are checked together with what is not changed)."""

    name: Name | None = None
    kind: Kind | None = None
    format: Format | None = None
    filters: Filters | None = None
    period: Period | None = None
    frequency: ReportFrequency | None = None
    weekday: Annotated[int, Field(ge=0, le=6)] | None = None
    day_of_month: Annotated[int, Field(ge=1, le=MAX_DAY_OF_MONTH)] | None = None
    time_of_day: TimeOfDay | None = None
    timezone: Timezone | None = None
    language: Language | None = None
    recipients: Recipients | None = None
    skip_empty: bool | None = None
    is_active: bool | None = None

    @field_validator(
        "name",
        "kind",
        "format",
        "filters",
        "period",
        "frequency",
        "time_of_day",
        "timezone",
        "recipients",
        "skip_empty",
        "is_active",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ScheduleRead(ReadModel):
    """A report schedule, with when it is next sent."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID | None
    name: str
    kind: str
    format: str
    filters: dict[str, Any]
    period: str
    frequency: ReportFrequency
    weekday: int | None
    day_of_month: int | None
    time_of_day: ShownTime
    timezone: str
    language: str | None
    recipients: list[uuid.UUID]
    skip_empty: bool
    is_active: bool
    next_run_at: datetime | None
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class DeliveryRead(ReadModel):
    """A period a schedule was sent for (or skipped, being empty), and its report."""

    id: uuid.UUID
    schedule_id: uuid.UUID
    period_start: Any
    period_end: Any
    report_id: uuid.UUID | None
    outcome: str
    created_at: datetime
