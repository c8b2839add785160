"""The monthly maintenance report's PDF, rendered from a hand-built report."""

from __future__ import annotations

from datetime import date

from kerops.reports.monthly import FailingAsset, PmCompliance, SlaCompliance, render_monthly
from tests.reports.monthly_sample import sample_report
from tests.reports.pdf_text import content_streams, page_count, pdf_text


def test_the_report_is_two_pages_in_spanish_by_default_with_chilean_numbers() -> None:
    pdf = render_monthly(sample_report(), "es-CL")

    assert pdf.startswith(b"%PDF-")
    assert page_count(pdf) == 2
    text = pdf_text(pdf)
    for expected in (
        "Informe mensual de mantenimiento",
        "Acme Providencia - noviembre de 2026",
        "TICKETS ABIERTOS",
        "6,4 h",  # MTTR
        "97,5 %",  # SLA response
        "$ 1.234.567",  # labour
        "$ 2.079.867",  # labour and parts
        "Chiller York YCAL 0065 - techo",
        "31,5 h",  # its downtime
        "02-11",  # the week starting on Monday 2 November
        "Cumplidos",
        "Incumplidos",
        "$ 1.166.000",  # Climatización, labour and parts
        "Página 2 de 2",
    ):
        assert expected in text, expected
    assert "Monthly maintenance report" not in text


def test_the_report_in_english_writes_english_numbers_and_money() -> None:
    text = pdf_text(render_monthly(sample_report(), "en"))

    for expected in (
        "Monthly maintenance report",
        "Acme Providencia - November 2026",
        "97.5 %",
        "CLP 1,234,567",
        "CLP 2,079,867",
        "2 Nov",
        "Page 1 of 2",
    ):
        assert expected in text, expected
    assert "Informe mensual" not in text


def test_each_weekly_figure_and_chart_value_is_written_on_the_page() -> None:
    text = pdf_text(render_monthly(sample_report(), "es-CL")).splitlines()

    # Bars carry their values (opened, closed per week), the line its MTTR per week.
    for value in ("8", "7", "12", "10", "11", "9", "5,5", "7,25", "6", "4,75"):
        assert value in text, value
    # PM: on time, late, missed; SLA: met and breached.
    for value in ("20", "3", "2", "39", "1", "36", "4"):
        assert value in text, value


def test_a_card_below_its_target_is_shaded_and_one_within_it_is_not() -> None:
    within = sample_report(sla_resolution_percent=99.0, pm_compliance_percent=95.0)
    below = sample_report(sla_resolution_percent=80.0, pm_compliance_percent=95.0)

    def shaded(pdf: bytes) -> int:
        return sum(stream.count(b"0.8824 g") for stream in content_streams(pdf))  # 225 / 255

    assert shaded(render_monthly(within, "es-CL")) == 0
    assert shaded(render_monthly(below, "es-CL")) == 1


def test_an_empty_month_still_renders_with_its_notes() -> None:
    empty = sample_report(
        tickets_opened=0,
        tickets_closed=0,
        mttr_hours=None,
        mean_response_hours=None,
        sla_response_percent=None,
        sla_resolution_percent=None,
        pm_compliance_percent=None,
        backlog=0,
        labour_cost_minor=0,
        parts_cost_minor=0,
        weeks=[],
        sla=SlaCompliance(0, 0, 0, 0),
        pm=PmCompliance(0, 0, 0, 0),
        top_failing_assets=[],
        costs_by_category=[],
    )
    pdf = render_monthly(empty, "es-CL")

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Ningún activo falló este mes." in text
    assert "No hubo gastos este mes." in text
    assert "$ 0" in text


def test_only_the_ten_assets_that_failed_most_are_listed() -> None:
    assets = [FailingAsset(f"Equipo {n:02d}", 20 - n, 1.0) for n in range(1, 15)]
    text = pdf_text(render_monthly(sample_report(top_failing_assets=assets), "es-CL"))

    assert "Equipo 10" in text
    assert "Equipo 11" not in text


def test_the_month_is_named_for_any_day_of_it() -> None:
    text = pdf_text(render_monthly(sample_report(month=date(2026, 2, 17)), "en"))

    assert "February 2026" in text
