"""Schemas of SLA policies: response and resolution targets per ticket priority."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from kerops.core.enums import TicketPriority
from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, ReadModel, no_nul, refuse_null
from kerops.core.sla_clock import ClockKind

#: Four weeks: longer targets are a data-entry mistake, not a service level.
MAX_TARGET_MINUTES = 28 * 24 * 60


PolicyName = Annotated[str, StringConstraints(min_length=1, max_length=120), AfterValidator(no_nul)]
Minutes = Annotated[int, Field(ge=1, le=MAX_TARGET_MINUTES)]
WarningPercent = Annotated[int, Field(ge=1, le=99)]


class SlaTarget(InputModel):
    """How long a ticket of one priority may wait for a response and for its resolution."""

    response_minutes: Minutes
    resolution_minutes: Minutes

    @model_validator(mode="after")
    def _resolution_after_response(self) -> Self:
        if self.resolution_minutes < self.response_minutes:
            raise ValueError(N_("resolution_minutes must not be shorter than response_minutes"))
        return self


def _every_priority(targets: dict[TicketPriority, SlaTarget] | None) -> Any:
    if targets is None:
        return None
    missing = [p.value for p in TicketPriority if p not in targets]
    if missing:
        raise InvalidValue(
            N_("a target is needed for every priority; missing: {missing}"),
            missing=", ".join(missing),
        )
    return targets


Targets = Annotated[dict[TicketPriority, SlaTarget], AfterValidator(_every_priority)]


class SlaPolicyCreate(InputModel):
    """A new SLA policy: client-wide (no ``locale_id``) or for one locale of the client.

    ``client_id`` is required for platform staff and implied for a client owner.
    """

    client_id: uuid.UUID | None = None
    locale_id: uuid.UUID | None = None
    name: PolicyName
    targets: Targets
    warning_percent: WarningPercent = 75
    #: ``calendar``: every minute counts; ``business``: only the locale's business hours.
    clock: ClockKind = ClockKind.calendar


class SlaPolicyUpdate(InputModel):
    """Changes to a policy; tickets keep the deadlines they were given when raised."""

    name: PolicyName | None = None
    targets: Targets | None = None
    warning_percent: WarningPercent | None = None
    clock: ClockKind | None = None

    @field_validator("name", "targets", "warning_percent", "clock")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class SlaTargetRead(ReadModel):
    """The targets of one priority, in minutes."""

    response_minutes: int
    resolution_minutes: int


class SlaPolicyRead(ReadModel):
    """A client's SLA policy."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID | None
    name: str
    targets: dict[TicketPriority, SlaTargetRead]
    warning_percent: int
    clock: ClockKind
    created_at: datetime
    updated_at: datetime
