"""Schemas of assets' maintenance plans and their due-date preview."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from kerops.assets.recurrence import IntervalUnit
from kerops.core.enums import TechnicianSkill, TicketPriority
from kerops.core.i18n import N_
from kerops.core.schemas import ApiDate, InputModel, ReadModel, no_nul, refuse_null

#: Bounds of a plan's dates and intervals (keeps every computed date inside the calendar); a
#: start date also lies within the API's dates (up to 2200-12-31).
MIN_START_DATE = date(1970, 1, 1)
MAX_INTERVAL_COUNT = 1000
MAX_LEAD_TIME_DAYS = 3650
MAX_CHECKLIST_ITEMS = 200
MAX_METER_VALUE = 1e12


class PlanTrigger(enum.StrEnum):
    """What makes a plan fall due: a date rule or a meter reading."""

    date = "date"
    meter = "meter"


class PlanAnchor(enum.StrEnum):
    """Where a date plan's series starts: fixed on the calendar or after each completion."""

    calendar = "calendar"
    completion = "completion"


class ChecklistKind(enum.StrEnum):
    """The kind of answer a checklist item takes."""

    check = "check"
    number = "number"
    text = "text"
    pass_fail = "pass_fail"


#: The fields only a date plan has, and the fields only a meter plan has.
DATE_FIELDS = ("interval_unit", "interval_count", "anchor", "start_date", "lead_time_days")
METER_FIELDS = ("meter_name", "meter_interval", "next_meter_due")


Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(no_nul)]
Description = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(no_nul)]
MeterName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(no_nul)]
Bound = Annotated[float, Field(ge=-MAX_METER_VALUE, le=MAX_METER_VALUE, allow_inf_nan=False)]
MeterInterval = Annotated[float, Field(gt=0, le=MAX_METER_VALUE, allow_inf_nan=False)]
MeterValue = Annotated[float, Field(ge=0, le=MAX_METER_VALUE, allow_inf_nan=False)]
IntervalCount = Annotated[int, Field(ge=1, le=MAX_INTERVAL_COUNT)]
LeadTime = Annotated[int, Field(ge=0, le=MAX_LEAD_TIME_DAYS)]
StartDate = Annotated[ApiDate, Field(ge=MIN_START_DATE)]


class ChecklistItem(InputModel):
    """One item of the checklist a generated ticket starts with; bounds for numbers only."""

    label: Text200
    kind: ChecklistKind = ChecklistKind.check
    min: Bound | None = None
    max: Bound | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.kind is not ChecklistKind.number and (self.min is not None or self.max is not None):
            raise ValueError(N_("min and max apply to number items only"))
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(N_("min must not be greater than max"))
        return self


Checklist = Annotated[list[ChecklistItem], Field(max_length=MAX_CHECKLIST_ITEMS)]


class PlanCreate(InputModel):
    """A new plan of an asset; give the fields of its trigger only (the others are refused)."""

    name: Text200
    description: Description = ""
    trigger: PlanTrigger = PlanTrigger.date
    interval_unit: IntervalUnit | None = None
    interval_count: IntervalCount | None = None
    anchor: PlanAnchor | None = None
    start_date: StartDate | None = Field(
        default=None, description="A local date in the locale's timezone (default: today there)"
    )
    lead_time_days: LeadTime | None = None
    meter_name: MeterName | None = None
    meter_interval: MeterInterval | None = None
    next_meter_due: MeterValue | None = Field(
        default=None,
        description="Default: the asset's current reading of the meter plus the interval",
    )
    checklist_template: Checklist = Field(default_factory=list)
    default_priority: TicketPriority = TicketPriority.medium
    required_skill: TechnicianSkill | None = None
    default_assignee_id: uuid.UUID | None = None
    is_active: bool = True


class PlanUpdate(InputModel):
    """Changes to a plan (only the fields given); the trigger cannot change."""

    name: Text200 | None = None
    description: Description | None = None
    interval_unit: IntervalUnit | None = None
    interval_count: IntervalCount | None = None
    anchor: PlanAnchor | None = None
    start_date: StartDate | None = None
    lead_time_days: LeadTime | None = None
    meter_name: MeterName | None = None
    meter_interval: MeterInterval | None = None
    next_meter_due: MeterValue | None = None
    checklist_template: Checklist | None = None
    default_priority: TicketPriority | None = None
    required_skill: TechnicianSkill | None = None
    default_assignee_id: uuid.UUID | None = None
    is_active: bool | None = None

    @field_validator(
        "name",
        "description",
        "interval_unit",
        "interval_count",
        "anchor",
        "start_date",
        "lead_time_days",
        "meter_name",
        "meter_interval",
        "next_meter_due",
        "checklist_template",
        "default_priority",
        "is_active",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ChecklistItemRead(ReadModel):
    """A checklist item of a plan."""

    label: str
    kind: ChecklistKind
    min: float | None = None
    max: float | None = None


class PlanRead(ReadModel):
    """A maintenance plan; ``next_due_at`` (UTC) is set for date plans."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID
    asset_id: uuid.UUID
    name: str
    description: str
    trigger: PlanTrigger
    interval_unit: IntervalUnit | None
    interval_count: int | None
    anchor: PlanAnchor | None
    start_date: date | None
    lead_time_days: int | None
    meter_name: str | None
    meter_interval: float | None
    next_meter_due: float | None
    checklist_template: list[ChecklistItemRead]
    default_priority: TicketPriority
    required_skill: TechnicianSkill | None
    default_assignee_id: uuid.UUID | None
    is_active: bool
    last_completed_at: datetime | None
    next_due_at: datetime | None
    neglected_since: datetime | None = Field(
        default=None, description="Set while the plan's last generated tickets were never started"
    )
    neglect_reason: str | None = None
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _date_fields_of_date_plans(self) -> Self:
        if self.trigger is PlanTrigger.meter:
            # The columns keep their defaults; they mean nothing for a meter plan.
            self.anchor = None
            self.lead_time_days = None
        return self


class DueOccurrence(ReadModel):
    """One upcoming due date of a date plan."""

    due_at: datetime = Field(description="When it falls due (UTC)")
    local_date: date = Field(description="The due date in the locale's timezone")
    generate_at: datetime = Field(description="When its work is generated: due minus lead time")


class MeterThreshold(ReadModel):
    """One upcoming meter value at which a meter plan falls due."""

    meter_value: float


class PlanPreview(ReadModel):
    """The next due dates (date plans) or meter thresholds (meter plans) of a plan."""

    plan_id: uuid.UUID
    trigger: PlanTrigger
    timezone: str
    meter_name: str | None
    occurrences: list[DueOccurrence]
    thresholds: list[MeterThreshold]
