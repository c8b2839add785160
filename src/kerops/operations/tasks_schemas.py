"""Schemas of a ticket's checklist tasks and their completion."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AllowInfNan,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, ReadModel, no_nul, refuse_null
from kerops.operations.schemas import TicketRead

#: Limits and recorded numbers stay within a range a float holds exactly enough.
NUMBER_BOUND = 1e15

TaskLabel = Annotated[str, StringConstraints(min_length=1, max_length=300), AfterValidator(no_nul)]
TaskText = Annotated[str, StringConstraints(max_length=5000), AfterValidator(no_nul)]
Limit = Annotated[float, AllowInfNan(False), Field(ge=-NUMBER_BOUND, le=NUMBER_BOUND)]
Position = Annotated[int, Field(ge=0, le=10_000)]
StrictNumber = Annotated[
    float, AllowInfNan(False), Field(strict=True, ge=-NUMBER_BOUND, le=NUMBER_BOUND)
]
BoundedInt = Annotated[StrictInt, Field(ge=-int(NUMBER_BOUND), le=int(NUMBER_BOUND))]


class TaskKind(enum.StrEnum):
    """What completing a task records."""

    check = "check"  # ticked: value true
    number = "number"  # a reading, passed when within [min_value, max_value]
    text = "text"  # a non-empty note
    pass_fail = "pass_fail"  # true (pass) or false (fail)


def _check_limits(min_value: float | None, max_value: float | None) -> None:
    if min_value is not None and max_value is not None and min_value > max_value:
        raise ValueError(N_("min_value must not exceed max_value"))


class TaskCreate(InputModel):
    """A new checklist item; limits only for ``number`` tasks; appended when no position."""

    label: TaskLabel
    kind: TaskKind = TaskKind.check
    min_value: Limit | None = None
    max_value: Limit | None = None
    position: Position | None = None

    @model_validator(mode="after")
    def _limits(self) -> Self:
        if self.kind is not TaskKind.number and (
            self.min_value is not None or self.max_value is not None
        ):
            raise ValueError(N_("only number tasks have min_value and max_value"))
        _check_limits(self.min_value, self.max_value)
        return self


class TaskUpdate(InputModel):
    """Changes to a task's label, limits (``null`` clears one) or position."""

    label: TaskLabel | None = None
    min_value: Limit | None = None
    max_value: Limit | None = None
    position: Position | None = None

    @field_validator("label", "position")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class TaskComplete(InputModel):
    """The value recorded for a task; ``open_follow_up`` raises a ticket for a failed check."""

    value: StrictBool | BoundedInt | StrictNumber | TaskText
    open_follow_up: bool = False


class TaskRead(ReadModel):
    """A checklist task of a ticket; times are in UTC."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    position: int
    label: str
    kind: str
    min_value: float | None
    max_value: float | None
    value_number: float | None
    value_text: str | None
    passed: bool | None
    is_done: bool
    completed_by_id: uuid.UUID | None
    completed_at: datetime | None
    follow_up_ticket_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class TaskCompletionRead(TaskRead):
    """A completed task, with the follow-up ticket this completion opened (if any)."""

    follow_up_ticket: TicketRead | None = None
