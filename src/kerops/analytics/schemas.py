"""What the analytics routes answer: a metric's series and breakdowns, and the dashboard's
cards."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from kerops.analytics.periods import Group
from kerops.core.schemas import ReadModel

Value = float | int | None


class PointRead(ReadModel):
    """One bucket of a series: its first and last day (local dates) and its values."""

    start: date
    end: date
    value: Value
    values: dict[str, Any]


class BreakdownRead(ReadModel):
    """One row of a metric split by asset, locale, category, technician, plan, rule or device."""

    kind: str
    key: str
    label: str
    value: Value
    values: dict[str, Any]


class MetricRead(ReadModel):
    """A metric over a period of local dates: its value, its series by ``group`` and its
    breakdowns (docs/analytics.md defines each)."""

    metric: str
    unit: str
    group: Group
    from_: date = Field(serialization_alias="from")
    to: date
    value: Value
    values: dict[str, Any]
    points: list[PointRead]
    rows: list[BreakdownRead]


class CardRead(ReadModel):
    """A dashboard card: its value over the period and over the period just before."""

    key: str
    unit: str
    value: Value
    previous: Value


class OverviewRead(ReadModel):
    """The dashboard's cards over a period, each beside its previous period's value."""

    from_: date = Field(serialization_alias="from")
    to: date
    previous_from: date
    previous_to: date
    cards: list[CardRead]
