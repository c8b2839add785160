"""The monthly report's figures from analytics: a ``MonthlySummary`` as the ``MonthlyReport``
the layout prints (docs/reports-pdf.md)."""

from __future__ import annotations

from typing import Any

from kerops.analytics.base import Breakdown, MetricResult
from kerops.analytics.summary import MonthlySummary
from kerops.core.i18n import gettext
from kerops.reports.monthly import (
    CategoryCost,
    FailingAsset,
    MonthlyReport,
    PmCompliance,
    SlaCompliance,
    WeekFigures,
)


def _int(values: dict[str, Any], key: str) -> int:
    return int(values.get(key) or 0)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _rows(metric: MetricResult, kind: str) -> list[Breakdown]:
    return [row for row in metric.rows if row.kind == kind]


def monthly_report(
    summary: MonthlySummary, *, client_name: str, locale_name: str, language: str
) -> MonthlyReport:
    """The report of ``summary``'s month: the cards' values, the weeks of the ticket and MTTR
    series, SLA and PM counts, the most failing assets and the costs by asset category (an
    asset without one is named in ``language``). Downtime per asset and late PM occurrences
    are not in the summary: they print as ``-`` and as "not on time"."""
    cards = {card.key: card.value for card in summary.cards}
    mttr_by_week = {point.start: point.value for point in summary.mttr.points}
    sla = summary.sla.values
    pm = summary.pm_compliance.values
    costs = summary.costs.values
    due, on_time = _int(pm, "due"), _int(pm, "on_time")
    no_category = gettext("No category", language)
    return MonthlyReport(
        client_name=client_name,
        locale_name=locale_name,
        month=summary.start,
        tickets_opened=_int(summary.tickets.values, "created"),
        tickets_closed=_int(summary.tickets.values, "completed"),
        mttr_hours=_float(summary.mttr.value),
        mean_response_hours=_float(cards.get("response_time")),
        sla_response_percent=_float(sla.get("response_pct")),
        sla_resolution_percent=_float(sla.get("resolution_pct")),
        pm_compliance_percent=_float(summary.pm_compliance.value),
        backlog=int(cards.get("backlog") or 0),
        labour_cost_minor=_int(costs, "labour_minor"),
        parts_cost_minor=_int(costs, "parts_minor"),
        currency=str(costs.get("currency") or "CLP"),
        weeks=[
            WeekFigures(
                week_start=point.start,
                opened=_int(point.values, "created"),
                closed=_int(point.values, "completed"),
                mttr_hours=_float(mttr_by_week.get(point.start)),
            )
            for point in summary.tickets.points
        ],
        sla=SlaCompliance(
            response_met=_int(sla, "response_met"),
            response_breached=_int(sla, "response_breached"),
            resolution_met=_int(sla, "resolution_met"),
            resolution_breached=_int(sla, "resolution_breached"),
        ),
        pm=PmCompliance(due=due, done_on_time=on_time, late=None, missed=due - on_time),
        top_failing_assets=[
            FailingAsset(name=row.label, failures=int(row.value or 0), downtime_hours=None)
            for row in _rows(summary.failures, "asset")
        ],
        costs_by_category=[
            CategoryCost(
                category=row.label or no_category,
                labour_minor=_int(row.values, "labour_minor"),
                parts_minor=_int(row.values, "parts_minor"),
            )
            for row in _rows(summary.costs, "category")
        ],
    )
