"""Charts drawn with fpdf2: scales, values written beside the marks, black-and-white fills."""

from __future__ import annotations

import math
import re

import pytest
from fpdf import FPDF

from kerops.reports import charts
from kerops.reports.charts import Box, Series
from tests.reports.pdf_text import content_streams, pdf_text

COLOUR = re.compile(rb"([\d.]+) ([\d.]+) ([\d.]+) (rg|RG)\b")


def _page() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.add_page()
    return pdf


def _draw(draw: str, **kwargs: object) -> bytes:
    pdf = _page()
    getattr(charts, draw)(pdf, Box(15, 20, 120, 70), **kwargs)
    return bytes(pdf.output())


@pytest.mark.parametrize(
    ("top", "maximum", "step"),
    [
        (0, 1.0, 0.25),
        (-3, 1.0, 0.25),
        (3, 3.0, 1.0),
        (13.44, 15.0, 5.0),
        (1_400_000, 1_500_000, 500_000),
    ],
)
def test_the_scale_ends_on_a_round_step_at_or_above_the_top(
    top: float, maximum: float, step: float
) -> None:
    assert charts.nice_scale(top) == (maximum, step)


@pytest.mark.parametrize("top", [0.07, 1, 7.3, 99, 101, 12_345, 9_876_543])
def test_every_scale_has_at_most_four_steps_of_one_two_two_and_a_half_or_five(top: float) -> None:
    maximum, step = charts.nice_scale(top)

    assert top <= maximum <= top + step + 1e-9
    assert maximum / step <= 4 + 1e-9
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in {1, 2, 2.5, 5}


@pytest.mark.parametrize(
    ("top", "maximum", "step"),
    [(0, 1.0, 1.0), (1.12, 2.0, 1.0), (3.36, 4.0, 1.0), (9, 10.0, 5.0), (27, 30.0, 10.0)],
)
def test_an_axis_of_counts_steps_by_whole_numbers(top: float, maximum: float, step: float) -> None:
    assert charts.nice_scale(top, whole=True) == (maximum, step)


def test_a_chart_of_counts_writes_whole_ticks_and_one_of_hours_fractions() -> None:
    counts = _draw("bar_chart", categories=["a"], series=[Series("A", [0])], value_format=str)
    hours = _draw("line_chart", categories=["a"], series=[Series("A", [0.5])], value_format=str)

    # Counts: 0 to 1 by 1; hours up to 0.5: 0 to 0.6 by 0.2 (never 0.6000000000000001).
    assert [line for line in pdf_text(counts).splitlines() if "." in line] == ["0.0", "1.0"]
    assert [
        line for line in pdf_text(hours).splitlines() if line.startswith("0.") and line != "0.5"
    ] == ["0.0", "0.2", "0.4", "0.6"]


def test_a_bar_chart_writes_every_value_category_and_series_name() -> None:
    pdf = _draw(
        "bar_chart",
        title="Tickets por semana",
        categories=["02-11", "09-11", "16-11"],
        series=[Series("Abiertos", [13, 3, 1]), Series("Cerrados", [11, None, 7])],
        value_format=lambda v: f"{v:.0f}",
    )
    lines = pdf_text(pdf).splitlines()

    for text in ("Tickets por semana", "Abiertos", "Cerrados", "02-11", "09-11", "16-11"):
        assert text in lines
    numbers = sorted(int(line) for line in lines if line.isdigit())
    # The axis (0 to 15 by 5) and each value once: the missing one writes nothing.
    assert numbers == sorted([0, 5, 10, 15, 13, 3, 1, 11, 7])


def test_charts_use_only_greys_so_they_print_the_same_in_black_and_white() -> None:
    series = [Series(f"S{n}", [n + 1, n + 2]) for n in range(5)]
    for draw in ("bar_chart", "line_chart"):
        pdf = _draw(draw, categories=["a", "b"], series=series, value_format=str)
        for stream in content_streams(pdf):
            for red, green, blue, _ in COLOUR.findall(stream):
                assert red == green == blue, (draw, red, green, blue)


def test_the_second_series_of_bars_is_hatched_not_only_a_lighter_grey() -> None:
    one = _draw("bar_chart", categories=["a"], series=[Series("A", [5])], value_format=str)
    two = _draw(
        "bar_chart",
        categories=["a"],
        series=[Series("A", [5]), Series("B", [5])],
        value_format=str,
    )

    clips = lambda pdf: sum(s.count(b"W n") for s in content_streams(pdf))  # noqa: E731
    assert clips(one) == 0
    # The hatched bar and its legend swatch are each drawn through a clip of their rectangle.
    assert clips(two) == 2


def test_a_line_chart_marks_each_point_and_breaks_at_a_missing_value() -> None:
    pdf = _draw(
        "line_chart",
        categories=["s1", "s2", "s3", "s4"],
        series=[Series("MTTR (h)", [5.5, 7.25, None, 4.75])],
        value_format=lambda v: f"{v:.1f}",
    )
    lines = pdf_text(pdf).splitlines()

    assert {"5.5", "7.2", "4.8", "MTTR (h)", "s3"} <= set(lines)
    segments = sum(
        len(re.findall(rb"[\d.]+ [\d.]+ m [\d.]+ [\d.]+ l S", s)) for s in content_streams(pdf)
    )
    # Axes, ticks and grid are lines too; the series adds one segment (s1-s2) and, with s3
    # missing, none to s4: compare with the same chart without the gap.
    full = _draw(
        "line_chart",
        categories=["s1", "s2", "s3", "s4"],
        series=[Series("MTTR (h)", [5.5, 7.25, 6.0, 4.75])],
        value_format=lambda v: f"{v:.1f}",
    )
    full_segments = sum(
        len(re.findall(rb"[\d.]+ [\d.]+ m [\d.]+ [\d.]+ l S", s)) for s in content_streams(full)
    )
    assert full_segments - segments == 2


def test_charts_of_no_values_draw_an_empty_axis() -> None:
    for draw in ("bar_chart", "line_chart"):
        pdf = _draw(draw, categories=[], series=[Series("A", [])], value_format=str)
        assert pdf.startswith(b"%PDF-")
        assert "1.0" in pdf_text(pdf).splitlines()


def test_a_kpi_card_shrinks_a_long_value_to_fit_and_keeps_it_whole() -> None:
    pdf = _page()
    charts.kpi_card(
        pdf, Box(15, 20, 40, 19), label="Costo total", value="$ 1.234.567.890", note="noviembre"
    )
    lines = pdf_text(bytes(pdf.output())).splitlines()

    assert lines == ["COSTO TOTAL", "$ 1.234.567.890", "noviembre"]


def test_drawing_a_chart_leaves_the_page_where_it_was() -> None:
    pdf = _page()
    pdf.set_xy(30, 140)
    pdf.set_font("Helvetica", "", 10)
    charts.bar_chart(
        pdf, Box(15, 20, 120, 70), categories=["a"], series=[Series("A", [1])], value_format=str
    )

    assert (pdf.get_x(), pdf.get_y()) == (30, 140)
    assert (pdf.font_family, pdf.font_size_pt) == ("helvetica", 10)
