"""Charts drawn in a PDF with fpdf2's own lines and shapes (no image, no plotting library): a bar
chart, a line chart and a KPI card.

They are made to be read printed in black and white: series are told apart by grey level and
hatching (bars) or by dash pattern and marker shape (lines), never by colour alone; every bar
and point carries its value written beside it; the value axis has ticks at round steps with
faint grid lines; a legend names each series with its own swatch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from fpdf import FPDF

from kerops.purchasing.pdf import FONT, latin1

#: How each series of a bar chart is filled: a grey level and a hatching (or none).
BAR_FILLS: tuple[tuple[int, str | None], ...] = (
    (60, None),
    (255, "diagonal"),
    (185, None),
    (255, "cross"),
    (120, "back"),
)
#: How each series of a line chart is drawn: a dash pattern (dash, gap; 0 = solid) and a marker.
LINE_STYLES: tuple[tuple[float, float, str], ...] = (
    (0, 0, "circle"),
    (2.2, 1.2, "square"),
    (0.6, 0.9, "triangle"),
    (3.5, 1.0, "diamond"),
)
AXIS = 0
GRID = 205
LABEL = 60
TICK_FONT = 6.5
VALUE_FONT = 6.2

ValueFormat = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    """A named row of values, one per category (None: no value for it)."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True, slots=True)
class Box:
    """Where a chart is drawn on the page (mm)."""

    x: float
    y: float
    w: float
    h: float


def nice_scale(top: float, ticks: int = 4, *, whole: bool = False) -> tuple[float, float]:
    """The axis maximum and the step between ticks for values up to ``top``: a step of 1, 2,
    2.5 or 5 times a power of ten, ``ticks`` steps or fewer (an empty axis reads 0 to 1);
    with ``whole`` (counts), never a step below 1 nor one of 2.5."""
    if not math.isfinite(top) or top <= 0:
        return (1.0, 1.0) if whole else (1.0, 0.25)
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole and power < 10 else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in multiples if m * power >= raw)
    if whole:
        step = max(step, 1.0)
    return round(step * math.ceil(top / step - 1e-9), 9), round(step, 9)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` in the current font."""
    text = latin1(text)
    if pdf.get_string_width(text) <= width:
        return text
    while len(text) > 1 and pdf.get_string_width(text + "..") > width:
        text = text[:-1]
    return text + ".."


@contextmanager
def _state(pdf: FPDF) -> Iterator[None]:
    """Draw without changing the page's colours, line width, dash pattern or position."""
    x, y = pdf.get_x(), pdf.get_y()
    with pdf.local_context():
        yield
    pdf.set_dash_pattern()
    pdf.set_xy(x, y)


def _hatch(pdf: FPDF, x: float, y: float, w: float, h: float, kind: str) -> None:
    """Hatch a rectangle: ``diagonal`` (/), ``back`` (\\) or ``cross`` (both)."""
    if w <= 0 or h <= 0:
        return
    spacing = 1.4
    pdf.set_line_width(0.18)
    pdf.set_draw_color(AXIS)
    with pdf.rect_clip(x, y, w, h):
        offset = -h
        while offset < w:
            if kind in ("diagonal", "cross"):
                pdf.line(x + offset, y + h, x + offset + h, y)
            if kind in ("back", "cross"):
                pdf.line(x + offset, y, x + offset + h, y + h)
            offset += spacing


def _swatch(pdf: FPDF, x: float, y: float, w: float, h: float, index: int) -> None:
    grey, hatch = BAR_FILLS[index % len(BAR_FILLS)]
    pdf.set_fill_color(grey)
    pdf.set_draw_color(AXIS)
    pdf.set_line_width(0.2)
    pdf.rect(x, y, w, h, style="F")
    if hatch is not None:
        _hatch(pdf, x, y, w, h, hatch)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(AXIS)
    pdf.rect(x, y, w, h, style="D")


def _marker(pdf: FPDF, x: float, y: float, kind: str, size: float = 1.5) -> None:
    pdf.set_dash_pattern()
    pdf.set_line_width(0.25)
    pdf.set_draw_color(AXIS)
    pdf.set_fill_color(AXIS)
    half = size / 2
    if kind == "circle":
        pdf.circle(x, y, half, style="DF")
    elif kind == "square":
        pdf.set_fill_color(255)
        pdf.rect(x - half, y - half, size, size, style="DF")
    elif kind == "triangle":
        pdf.polygon([(x - half, y + half), (x + half, y + half), (x, y - half)], style="DF")
    else:
        pdf.set_fill_color(255)
        pdf.polygon([(x, y - half), (x + half, y), (x, y + half), (x - half, y)], style="DF")


def _line_sample(pdf: FPDF, x: float, y: float, w: float, index: int) -> None:
    dash, gap, marker = LINE_STYLES[index % len(LINE_STYLES)]
    pdf.set_draw_color(AXIS)
    pdf.set_line_width(0.45)
    if dash:
        pdf.set_dash_pattern(dash=dash, gap=gap)
    pdf.line(x, y, x + w, y)
    pdf.set_dash_pattern()
    _marker(pdf, x + w / 2, y, marker)


def _title_and_legend(
    pdf: FPDF, box: Box, title: str, series: Sequence[Series], *, lines: bool
) -> float:
    """Write the title and the legend at the top of ``box``; the y where the plot starts."""
    y = box.y
    if title:
        pdf.set_font(FONT, "B", 9)
        pdf.set_text_color(AXIS)
        pdf.set_xy(box.x, y)
        pdf.cell(box.w, 5, _fit(pdf, title, box.w))
        y += 5.5
    if len(series) > 1 or lines:
        pdf.set_font(FONT, "", 7)
        pdf.set_text_color(AXIS)
        x = box.x
        for index, one in enumerate(series):
            name = _fit(pdf, one.name, box.w / max(len(series), 1) - 10)
            needed = 9 + pdf.get_string_width(name) + 4
            if x + needed > box.x + box.w and x > box.x:
                x = box.x
                y += 4.5
            if lines:
                _line_sample(pdf, x, y + 2, 7, index)
            else:
                _swatch(pdf, x, y + 0.6, 6, 2.8, index)
            pdf.set_xy(x + 8, y)
            pdf.cell(needed - 8, 4, name)
            x += needed
        y += 5.5
    return y


def _axes(
    pdf: FPDF,
    box: Box,
    top: float,
    categories: Sequence[str],
    values: Sequence[float],
    value_format: ValueFormat,
) -> tuple[Box, float]:
    """Draw the value axis (ticks, grid) and return the plot's box and the scale's maximum."""
    whole = all(float(value).is_integer() for value in values)
    maximum, step = nice_scale(max(values, default=0.0) * 1.12, whole=whole)
    ticks = [round(step * i, 9) for i in range(round(maximum / step) + 1)]
    pdf.set_font(FONT, "", TICK_FONT)
    tick_width = max(pdf.get_string_width(latin1(value_format(t))) for t in ticks) + 1.5
    label_height = 4.5
    plot = Box(box.x + tick_width + 1, top + 2, box.w - tick_width - 1, 0)
    plot = Box(plot.x, plot.y, plot.w, box.y + box.h - label_height - plot.y)
    pdf.set_text_color(LABEL)
    for tick in ticks:
        y = plot.y + plot.h - plot.h * tick / maximum
        pdf.set_draw_color(GRID)
        pdf.set_line_width(0.15)
        if tick:
            pdf.line(plot.x, y, plot.x + plot.w, y)
        pdf.set_draw_color(AXIS)
        pdf.set_line_width(0.25)
        pdf.line(plot.x - 1, y, plot.x, y)
        pdf.set_xy(box.x, y - 1.5)
        pdf.cell(tick_width, 3, latin1(value_format(tick)), align="R")
    pdf.set_draw_color(AXIS)
    pdf.set_line_width(0.3)
    pdf.line(plot.x, plot.y, plot.x, plot.y + plot.h)
    pdf.line(plot.x, plot.y + plot.h, plot.x + plot.w, plot.y + plot.h)
    slot = plot.w / max(len(categories), 1)
    pdf.set_font(FONT, "", TICK_FONT)
    for index, category in enumerate(categories):
        pdf.set_xy(plot.x + slot * index, plot.y + plot.h + 0.8)
        pdf.cell(slot, 3.5, _fit(pdf, category, slot - 0.5), align="C")
    pdf.set_text_color(AXIS)
    return plot, maximum


def _value_label(pdf: FPDF, x: float, y: float, width: float, text: str) -> None:
    """A value centred on ``x`` just above ``y``: upright when it fits ``width``, else turned a
    quarter so that it reads upwards."""
    pdf.set_font(FONT, "", VALUE_FONT)
    pdf.set_text_color(AXIS)
    text = latin1(text)
    size = pdf.get_string_width(text)
    if size <= width + 1:
        pdf.set_xy(x - size / 2 - 1, y - 3.4)
        pdf.cell(size + 2, 3, text, align="C")
        return
    with pdf.rotation(90, x, y - 0.8):
        pdf.set_xy(x, y - 0.8 - 1.5)
        pdf.cell(size + 1, 3, text)


def bar_chart(
    pdf: FPDF,
    box: Box,
    *,
    categories: Sequence[str],
    series: Sequence[Series],
    value_format: ValueFormat,
    title: str = "",
) -> None:
    """Bars grouped by category, one per series, each with its value written above it."""
    with _state(pdf):
        top = _title_and_legend(pdf, box, title, series, lines=False)
        values = [v for one in series for v in one.values if v is not None]
        plot, maximum = _axes(pdf, box, top, categories, values, value_format)
        slot = plot.w / max(len(categories), 1)
        group = slot * 0.78
        bar = group / max(len(series), 1)
        for c_index in range(len(categories)):
            left = plot.x + slot * c_index + (slot - group) / 2
            for s_index, one in enumerate(series):
                value = one.values[c_index] if c_index < len(one.values) else None
                if value is None:
                    continue
                height = plot.h * max(value, 0.0) / maximum
                x = left + bar * s_index
                y = plot.y + plot.h - height
                if height > 0:
                    _swatch(pdf, x, y, bar, height, s_index)
                _value_label(pdf, x + bar / 2, y, bar, value_format(value))


def line_chart(
    pdf: FPDF,
    box: Box,
    *,
    categories: Sequence[str],
    series: Sequence[Series],
    value_format: ValueFormat,
    title: str = "",
) -> None:
    """One line per series over the categories, a marker and the value at each point; a
    missing value breaks the line."""
    with _state(pdf):
        top = _title_and_legend(pdf, box, title, series, lines=True)
        values = [v for one in series for v in one.values if v is not None]
        plot, maximum = _axes(pdf, box, top, categories, values, value_format)
        slot = plot.w / max(len(categories), 1)
        for s_index, one in enumerate(series):
            dash, gap, marker = LINE_STYLES[s_index % len(LINE_STYLES)]
            points: list[tuple[float, float] | None] = []
            for c_index in range(len(categories)):
                value = one.values[c_index] if c_index < len(one.values) else None
                if value is None:
                    points.append(None)
                    continue
                x = plot.x + slot * (c_index + 0.5)
                points.append((x, plot.y + plot.h - plot.h * max(value, 0.0) / maximum))
            pdf.set_draw_color(AXIS)
            pdf.set_line_width(0.45)
            for start, end in itertools.pairwise(points):
                if start is None or end is None:
                    continue
                if dash:
                    pdf.set_dash_pattern(dash=dash, gap=gap)
                pdf.line(*start, *end)
                pdf.set_dash_pattern()
            for c_index, point in enumerate(points):
                if point is None:
                    continue
                _marker(pdf, *point, marker)
                value = one.values[c_index]
                assert value is not None
                label_y = point[1] - 0.8 if s_index % 2 == 0 else point[1] + 5.2
                _value_label(pdf, point[0], label_y, slot, value_format(value))


def kpi_card(
    pdf: FPDF,
    box: Box,
    *,
    label: str,
    value: str,
    note: str = "",
    emphasis: bool = False,
) -> None:
    """A figure in a framed card: its label above, the value large, a note below (a target,
    the period); ``emphasis`` shades the card (a figure out of its target)."""
    with _state(pdf):
        pdf.set_line_width(0.3 if emphasis else 0.2)
        pdf.set_draw_color(AXIS if emphasis else 140)
        pdf.set_fill_color(225 if emphasis else 255)
        pdf.rect(box.x, box.y, box.w, box.h, style="DF", round_corners=True, corner_radius=1.5)
        inner = box.w - 4
        pdf.set_text_color(LABEL)
        pdf.set_font(FONT, "", 7)
        pdf.set_xy(box.x + 2, box.y + 1.8)
        pdf.cell(inner, 3.5, _fit(pdf, label.upper(), inner))
        pdf.set_text_color(AXIS)
        size = 15.0
        pdf.set_font(FONT, "B", size)
        text = latin1(value)
        while size > 8 and pdf.get_string_width(text) > inner:
            size -= 0.5
            pdf.set_font(FONT, "B", size)
        pdf.set_xy(box.x + 2, box.y + 5.8)
        pdf.cell(inner, 7, _fit(pdf, text, inner))
        if note:
            pdf.set_text_color(LABEL)
            pdf.set_font(FONT, "", 6.5)
            pdf.set_xy(box.x + 2, box.y + box.h - 4.6)
            pdf.cell(inner, 3.5, _fit(pdf, note, inner))
