"""The monthly maintenance report of a locale as a PDF: the figures a manager forwards (KPI
cards, tickets and MTTR by week, SLA compliance, the assets that failed most, preventive
maintenance compliance and costs), laid out on two A4 pages (docs/reports-pdf.md).

The figures are computed elsewhere (analytics) and handed over as a ``MonthlyReport``; this
module only lays them out, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from babel.dates import format_date, format_skeleton

from kerops.core import formats
from kerops.core.i18n import CATALOG_DIRS, gettext, supported
from kerops.reports import charts
from kerops.reports.charts import Box, Series
from kerops.reports.pdfdoc import Column, ReportPDF, money, table_room


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One week of the month (weeks start on Monday, in the locale's time zone)."""

    week_start: date
    opened: int
    closed: int
    #: Mean time to repair of the week's completed corrective tickets, in hours (None: none).
    mttr_hours: float | None


@dataclass(frozen=True, slots=True)
class SlaCompliance:
    """Tickets whose SLA target fell in the month: met or breached, response and resolution."""

    response_met: int
    response_breached: int
    resolution_met: int
    resolution_breached: int


@dataclass(frozen=True, slots=True)
class FailingAsset:
    """An asset among those that failed most in the month."""

    name: str
    failures: int
    #: Hours down in the month (None: not measured, printed ``-``).
    downtime_hours: float | None


@dataclass(frozen=True, slots=True)
class PmCompliance:
    """Preventive maintenance occurrences due in the month and what became of them."""

    due: int
    done_on_time: int
    #: Done after their due time (None: not told apart from ``missed``, which then counts
    #: every occurrence not done on time).
    late: int | None
    missed: int


@dataclass(frozen=True, slots=True)
class CategoryCost:
    """What a category of work or asset cost in the month (minor units)."""

    category: str
    labour_minor: int
    parts_minor: int

    @property
    def total_minor(self) -> int:
        """Labour and parts."""
        return self.labour_minor + self.parts_minor


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """Everything the monthly report of one locale shows (percentages 0-100, hours as hours,
    money in minor units of ``currency``; None: no figure, e.g. no ticket to measure)."""

    client_name: str
    locale_name: str
    month: date  # any day of the month
    tickets_opened: int
    tickets_closed: int
    mttr_hours: float | None
    mean_response_hours: float | None
    sla_response_percent: float | None
    sla_resolution_percent: float | None
    pm_compliance_percent: float | None
    backlog: int
    labour_cost_minor: int
    parts_cost_minor: int
    weeks: Sequence[WeekFigures]
    sla: SlaCompliance
    pm: PmCompliance
    top_failing_assets: Sequence[FailingAsset] = field(default_factory=tuple)
    costs_by_category: Sequence[CategoryCost] = field(default_factory=tuple)
    currency: str = "CLP"
    #: Targets the cards are compared with (a card below its target is shaded).
    sla_target_percent: float = 95.0
    pm_target_percent: float = 90.0

    @property
    def total_cost_minor(self) -> int:
        """Labour and parts."""
        return self.labour_cost_minor + self.parts_cost_minor


def month_name(month: date, language: str) -> str:
    """``diciembre de 2026`` / ``December 2026``."""
    lang = supported(language) or "es-CL"
    return format_skeleton("yMMMM", month, locale=CATALOG_DIRS[lang])


def _hours(value: float | None, language: str) -> str:
    if value is None:
        return "-"
    return gettext("{hours} h", language, hours=formats.format_number(round(value, 1), language))


def _percent(value: float | None, language: str) -> str:
    if value is None:
        return "-"
    return f"{formats.format_number(round(value, 1), language)} %"


def _count(value: float, language: str) -> str:
    return formats.format_number(round(value), language)


def _below(value: float | None, target: float) -> bool:
    return value is not None and value < target


def _card_values(report: MonthlyReport, language: str) -> list[tuple[str, str, str, bool]]:
    """Each card's label, value, note and whether it is below its target."""

    def number(value: int) -> str:
        return formats.format_number(value, language)

    def cost(minor: int) -> str:
        return money(minor, report.currency, language)

    sla_target = gettext(
        "target {value}", language, value=_percent(report.sla_target_percent, language)
    )
    pm_target = gettext(
        "target {value}", language, value=_percent(report.pm_target_percent, language)
    )
    sla_response, sla_resolution = report.sla_response_percent, report.sla_resolution_percent
    pm = report.pm_compliance_percent
    return [
        (gettext("Tickets opened", language), number(report.tickets_opened), "", False),
        (gettext("Tickets closed", language), number(report.tickets_closed), "", False),
        (
            gettext("MTTR", language),
            _hours(report.mttr_hours, language),
            gettext("work started to completed", language),
            False,
        ),
        (
            gettext("Mean response", language),
            _hours(report.mean_response_hours, language),
            gettext("created to accepted", language),
            False,
        ),
        (
            gettext("SLA response", language),
            _percent(sla_response, language),
            sla_target,
            _below(sla_response, report.sla_target_percent),
        ),
        (
            gettext("SLA resolution", language),
            _percent(sla_resolution, language),
            sla_target,
            _below(sla_resolution, report.sla_target_percent),
        ),
        (
            gettext("PM compliance", language),
            _percent(pm, language),
            pm_target,
            _below(pm, report.pm_target_percent),
        ),
        (
            gettext("Backlog", language),
            number(report.backlog),
            gettext("open at month end", language),
            False,
        ),
        (gettext("Labour cost", language), cost(report.labour_cost_minor), "", False),
        (gettext("Parts cost", language), cost(report.parts_cost_minor), "", False),
        (gettext("Total cost", language), cost(report.total_cost_minor), "", False),
    ]


def _cards(pdf: ReportPDF, report: MonthlyReport, language: str) -> None:
    cards = _card_values(report, language)
    per_row, gap, height = 4, 3.0, 19.0
    width = (pdf.content_width - gap * (per_row - 1)) / per_row
    top = pdf.get_y()
    for index, (label, value, note, emphasis) in enumerate(cards):
        row, col = divmod(index, per_row)
        box = Box(pdf.l_margin + col * (width + gap), top + row * (height + gap), width, height)
        charts.kpi_card(pdf, box, label=label, value=value, note=note, emphasis=emphasis)
    rows = (len(cards) + per_row - 1) // per_row
    pdf.set_y(top + rows * (height + gap))
    pdf.note(gettext("A shaded card is below its target.", language))


#: A week is named by its Monday: ``02-11`` (es-CL), ``2 Nov`` (en).
WEEK_PATTERNS = {"es-CL": "dd-MM", "en": "d MMM"}


def _week_label(week: WeekFigures, language: str) -> str:
    return format_date(week.week_start, WEEK_PATTERNS[language], locale=CATALOG_DIRS[language])


def _weekly_charts(pdf: ReportPDF, report: MonthlyReport, language: str) -> None:
    pdf.section(gettext("Tickets and MTTR by week", language), room=70)
    labels = [_week_label(week, language) for week in report.weeks]
    top, height, gap = pdf.get_y(), 68.0, 6.0
    half = (pdf.content_width - gap) / 2
    count = partial(_count, language=language)
    charts.bar_chart(
        pdf,
        Box(pdf.l_margin, top, half, height),
        title=gettext("Tickets per week (week starting)", language),
        categories=labels,
        series=[
            Series(gettext("Opened", language), [w.opened for w in report.weeks]),
            Series(gettext("Closed", language), [w.closed for w in report.weeks]),
        ],
        value_format=count,
    )
    charts.line_chart(
        pdf,
        Box(pdf.l_margin + half + gap, top, half, height),
        title=gettext("MTTR per week, hours (week starting)", language),
        categories=labels,
        series=[Series(gettext("MTTR (h)", language), [w.mttr_hours for w in report.weeks])],
        value_format=lambda value: formats.format_number(round(value, 2), language),
    )
    pdf.set_y(top + height + 3)


def _sla_and_pm(pdf: ReportPDF, report: MonthlyReport, language: str) -> None:
    pdf.section(gettext("SLA and preventive maintenance compliance", language), room=70)
    top, height, gap = pdf.get_y(), 62.0, 6.0
    half = (pdf.content_width - gap) / 2
    count = partial(_count, language=language)
    sla = report.sla
    charts.bar_chart(
        pdf,
        Box(pdf.l_margin, top, half, height),
        title=gettext("SLA: tickets met and breached", language),
        categories=[gettext("Response", language), gettext("Resolution", language)],
        series=[
            Series(gettext("Met", language), [sla.response_met, sla.resolution_met]),
            Series(gettext("Breached", language), [sla.response_breached, sla.resolution_breached]),
        ],
        value_format=count,
    )
    pm = report.pm
    categories = [gettext("On time", language)]
    values: list[float | None] = [pm.done_on_time]
    if pm.late is None:
        categories.append(gettext("Not on time", language))
        values.append(pm.missed)
    else:
        categories += [gettext("Late", language), gettext("Missed", language)]
        values += [pm.late, pm.missed]
    charts.bar_chart(
        pdf,
        Box(pdf.l_margin + half + gap, top, half, height),
        title=gettext("PM occurrences due: {due}", language, due=count(pm.due)),
        categories=categories,
        series=[Series(gettext("Occurrences", language), values)],
        value_format=count,
    )
    pdf.set_y(top + height + 3)


def _assets(pdf: ReportPDF, report: MonthlyReport, language: str) -> None:
    pdf.section(
        gettext("Assets that failed most", language),
        room=table_room(min(len(report.top_failing_assets), 10)),
    )
    if not report.top_failing_assets:
        pdf.note(gettext("No asset failed this month.", language))
        return
    pdf.data_table(
        [
            Column("#", 0.5, "RIGHT"),
            Column(gettext("Asset", language), 6),
            Column(gettext("Failures", language), 1.6, "RIGHT"),
            Column(gettext("Downtime", language), 1.8, "RIGHT"),
        ],
        [
            (
                str(rank),
                asset.name,
                formats.format_number(asset.failures, language),
                _hours(asset.downtime_hours, language),
            )
            for rank, asset in enumerate(report.top_failing_assets[:10], start=1)
        ],
    )


def _costs(pdf: ReportPDF, report: MonthlyReport, language: str) -> None:
    lines = list(report.costs_by_category)
    pdf.section(gettext("Costs by category", language), room=60 if lines else 20)
    if not lines:
        pdf.note(gettext("Nothing was spent this month.", language))
        return
    cur = report.currency
    top, height = pdf.get_y(), 58.0
    charts.bar_chart(
        pdf,
        Box(pdf.l_margin, top, pdf.content_width, height),
        categories=[line.category for line in lines[:8]],
        series=[
            Series(gettext("Labour", language), [line.labour_minor for line in lines[:8]]),
            Series(gettext("Parts", language), [line.parts_minor for line in lines[:8]]),
        ],
        value_format=lambda value: money(round(value), cur, language),
    )
    pdf.set_y(top + height + 3)
    rows = [
        (
            line.category,
            money(line.labour_minor, cur, language),
            money(line.parts_minor, cur, language),
            money(line.total_minor, cur, language),
        )
        for line in lines
    ]
    rows.append(
        (
            gettext("Total", language),
            money(sum(line.labour_minor for line in lines), cur, language),
            money(sum(line.parts_minor for line in lines), cur, language),
            money(sum(line.total_minor for line in lines), cur, language),
        )
    )
    pdf.data_table(
        [
            Column(gettext("Category", language), 4),
            Column(gettext("Labour", language), 2, "RIGHT"),
            Column(gettext("Parts", language), 2, "RIGHT"),
            Column(gettext("Total", language), 2, "RIGHT"),
        ],
        rows,
        bold_last=True,
    )


def render_monthly(report: MonthlyReport, language: str) -> bytes:
    """The report's PDF, its texts, numbers, dates and money in ``language``."""
    language = supported(language) or "es-CL"
    month = month_name(report.month, language)
    title = gettext("Monthly maintenance report", language)
    pdf = ReportPDF(
        title=f"{title} - {month}",
        subtitle=f"{report.client_name} - {report.locale_name}",
        language=language,
    )
    pdf.add_page()
    pdf.text_line(title, size=17, style="B", height=8)
    pdf.text_line(f"{report.locale_name} - {month}", size=12, height=6)
    pdf.text_line(report.client_name, size=9, height=5)
    pdf.ln(3)
    _cards(pdf, report, language)
    _weekly_charts(pdf, report, language)
    _sla_and_pm(pdf, report, language)
    _assets(pdf, report, language)
    _costs(pdf, report, language)
    return bytes(pdf.output())
