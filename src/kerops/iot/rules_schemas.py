"""Schemas of IoT threshold rules."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from kerops.core.enums import TicketPriority
from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, ReadModel, refuse_null
from kerops.iot.schemas import MetricName, Threshold
from kerops.tenancy.schemas import Text200


class RuleKind(enum.StrEnum):
    """What a rule watches."""

    above = "above"  # value > threshold
    below = "below"  # value < threshold
    outside = "outside"  # value < low or value > high
    rate = "rate"  # |change per minute| > threshold, between consecutive readings
    no_data = "no_data"  # no reading for no_data_minutes


class RuleState(enum.StrEnum):
    """Whether a rule is tripped."""

    ok = "ok"
    tripped = "tripped"


def check_rule(
    kind: RuleKind,
    threshold: float | None,
    low: float | None,
    high: float | None,
    no_data_minutes: int | None,
) -> list[tuple[str, InvalidValue]]:
    """The (field, message) problems of a rule's settings for its kind (none: valid); each
    message is translated where it is shown (``InvalidValue.translated``)."""
    problems: list[tuple[str, InvalidValue]] = []
    if kind in (RuleKind.above, RuleKind.below, RuleKind.rate) and threshold is None:
        problems.append(
            ("threshold", InvalidValue(N_("required for a rule of kind {kind}"), kind=kind.value))
        )
    if kind is RuleKind.rate and threshold is not None and threshold <= 0:
        problems.append(("threshold", InvalidValue(N_("a rate threshold must be positive"))))
    if kind is RuleKind.outside:
        if low is None or high is None:
            problems.append(
                ("low", InvalidValue(N_("low and high are required for a rule of kind outside")))
            )
        elif low >= high:
            problems.append(("low", InvalidValue(N_("low must be less than high"))))
    if kind is RuleKind.no_data and no_data_minutes is None:
        problems.append(
            (
                "no_data_minutes",
                InvalidValue(N_("required for a rule of kind {kind}"), kind="no_data"),
            )
        )
    return problems


class RuleCreate(InputModel):
    """A new rule on one metric of the device."""

    name: Text200
    metric: MetricName
    kind: RuleKind
    threshold: Threshold | None = None
    low: Threshold | None = None
    high: Threshold | None = None
    hysteresis: float = Field(default=0.0, ge=0, le=1e12, allow_inf_nan=False)
    no_data_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    cooldown_minutes: int = Field(default=15, ge=0, le=60 * 24 * 30)
    priority: TicketPriority = TicketPriority.high
    is_enabled: bool = True

    @model_validator(mode="after")
    def _settings(self) -> Self:
        problems = check_rule(self.kind, self.threshold, self.low, self.high, self.no_data_minutes)
        if problems:
            raise InvalidValue(
                N_("Invalid rule settings: {problems}"),
                problems=[
                    InvalidValue(N_("{field}: {problem}"), field=field, problem=problem)
                    for field, problem in problems
                ],
            )
        return self


class RuleUpdate(InputModel):
    """Changes to a rule (its state is kept; a changed limit applies to the next readings)."""

    name: Text200 | None = None
    metric: MetricName | None = None
    kind: RuleKind | None = None
    threshold: Threshold | None = None
    low: Threshold | None = None
    high: Threshold | None = None
    hysteresis: float | None = Field(default=None, ge=0, le=1e12, allow_inf_nan=False)
    no_data_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30)
    cooldown_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 30)
    priority: TicketPriority | None = None
    is_enabled: bool | None = None

    @field_validator(
        "name", "metric", "kind", "hysteresis", "cooldown_minutes", "priority", "is_enabled"
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class RuleRead(ReadModel):
    """A rule with its current state."""

    id: uuid.UUID
    client_id: uuid.UUID
    device_id: uuid.UUID
    name: str
    metric: str
    kind: RuleKind
    threshold: float | None
    low: float | None
    high: float | None
    hysteresis: float
    no_data_minutes: int | None
    cooldown_minutes: int
    priority: TicketPriority
    is_enabled: bool
    state: RuleState
    last_value: float | None
    last_tripped_at: datetime | None
    last_cleared_at: datetime | None
    ticket_id: uuid.UUID | None
    trip_count: int
    created_at: datetime
    updated_at: datetime
