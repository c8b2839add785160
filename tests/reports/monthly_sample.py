"""A hand-built monthly report of a locale (the figures analytics will compute)."""

from __future__ import annotations

from datetime import date

from kerops.reports.monthly import (
    CategoryCost,
    FailingAsset,
    MonthlyReport,
    PmCompliance,
    SlaCompliance,
    WeekFigures,
)


def sample_report(**changes: object) -> MonthlyReport:
    """November 2026 at Acme Providencia: five weeks, an SLA and a PM figure below target."""
    values: dict[str, object] = {
        "client_name": "Acme Retail SpA",
        "locale_name": "Acme Providencia",
        "month": date(2026, 11, 1),
        "tickets_opened": 48,
        "tickets_closed": 44,
        "mttr_hours": 6.4,
        "mean_response_hours": 1.5,
        "sla_response_percent": 97.5,
        "sla_resolution_percent": 91.2,
        "pm_compliance_percent": 88.0,
        "backlog": 13,
        "labour_cost_minor": 1_234_567,
        "parts_cost_minor": 845_300,
        "weeks": [
            WeekFigures(date(2026, 10, 26), 8, 7, 5.5),
            WeekFigures(date(2026, 11, 2), 12, 10, 7.25),
            WeekFigures(date(2026, 11, 9), 11, 12, None),
            WeekFigures(date(2026, 11, 16), 9, 8, 6.0),
            WeekFigures(date(2026, 11, 23), 8, 7, 4.75),
        ],
        "sla": SlaCompliance(
            response_met=39, response_breached=1, resolution_met=36, resolution_breached=4
        ),
        "pm": PmCompliance(due=25, done_on_time=20, late=3, missed=2),
        "top_failing_assets": [
            FailingAsset("Chiller York YCAL 0065 - techo", 7, 31.5),
            FailingAsset("Cámara de frío N°2", 3, 8.0),
            FailingAsset("Tablero eléctrico general", 2, 1.5),
        ],
        "costs_by_category": [
            CategoryCost("Climatización", 654_000, 512_000),
            CategoryCost("Electricidad", 320_000, 98_000),
            CategoryCost("Gasfitería", 180_567, 140_300),
            CategoryCost("Refrigeración", 80_000, 95_000),
        ],
    }
    values.update(changes)
    return MonthlyReport(**values)  # type: ignore[arg-type]
