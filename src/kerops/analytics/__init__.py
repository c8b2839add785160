"""Analytics: the maintenance metrics of a client (MTTR, MTBF, SLA and PM compliance, backlog,
costs, utilisation, IoT data health), each with one documented formula (docs/analytics.md).

``monthly_summary`` is the Python API of the monthly report (one locale's month)."""

from kerops.analytics.summary import MonthlySummary, monthly_summary

__all__ = ["MonthlySummary", "monthly_summary"]
