"""The page of every printed report (fpdf2, A4 portrait): a running header naming the client and
the document, a footer with the page number, section headings, label/value grids and tables
whose heading row repeats on every page they run over.

Texts are set in the core fonts as the purchase order's PDF sets them
(``kerops.purchasing.pdf``): Helvetica, Latin-1 (Spanish prints whole; another character
prints as ``?``). Everything is drawn in black and greys, so a page reads the same printed in
black and white.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF
from fpdf.enums import TableBordersLayout
from fpdf.fonts import FontFace

from kerops.core.i18n import gettext
from kerops.purchasing.pdf import FONT, latin1, money

__all__ = ["FONT", "Column", "ReportPDF", "latin1", "money"]

#: Greys (0 black, 255 white) of the page: text, secondary text, rules, shaded rows.
INK = 0
MUTED = 90
RULE = 150
SHADE = 235


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a table: its heading, its share of the width and its alignment."""

    heading: str
    width: float
    align: str = "LEFT"


def table_room(rows: int) -> float:
    """The height (mm) to keep free under a heading for a table of ``rows`` rows and its
    heading row: the whole of a short table (never split from its heading), a page's worth of
    a long one's first rows."""
    return min(8.0 + 6.0 * (rows + 1), 60.0)


class ReportPDF(FPDF):
    """An A4 page with the report's running header and numbered footer."""

    def __init__(self, *, title: str, subtitle: str, language: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.report_title = latin1(title)
        self.report_subtitle = latin1(subtitle)
        self.language = language
        self.set_margins(15, 18, 15)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_title(self.report_title)
        self.set_author(self.report_subtitle)
        self.set_creator("KER Ops")
        self.alias_nb_pages()

    @property
    def content_width(self) -> float:
        """The width between the margins."""
        return float(self.w - self.l_margin - self.r_margin)

    def header(self) -> None:
        """The client (left) and the document (right), over a thin rule."""
        self.set_y(8)
        self.set_font(FONT, "", 8)
        self.set_text_color(MUTED)
        half = self.content_width / 2
        self.cell(half, 5, self.report_subtitle[:70], align="L")
        self.cell(half, 5, self.report_title[:70], align="R")
        self.set_draw_color(RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, 13.5, self.w - self.r_margin, 13.5)
        self.set_text_color(INK)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        """``Página 2 de 3``."""
        self.set_y(-11)
        self.set_font(FONT, "", 8)
        self.set_text_color(MUTED)
        text = gettext("Page {page} of {pages}", self.language, page=self.page_no(), pages="{nb}")
        self.cell(0, 5, latin1(text), align="C")
        self.set_text_color(INK)

    def text_line(
        self, value: str, *, size: float = 10, style: str = "", height: float = 5
    ) -> None:
        """One line (cut to the width) at the left margin."""
        self.set_font(FONT, style, size)
        self.cell(0, height, latin1(value), new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, value: str, *, size: float = 10, height: float = 5) -> None:
        """Text wrapped over as many lines (and pages) as it needs."""
        self.set_font(FONT, "", size)
        self.multi_cell(0, height, latin1(value), new_x="LMARGIN", new_y="NEXT")

    def section(self, title: str, *, room: float = 30) -> None:
        """A section's heading, on a new page when less than ``room`` mm would follow it."""
        if self.will_page_break(room + 10):
            self.add_page()
        self.ln(3)
        self.set_font(FONT, "B", 12)
        self.cell(0, 7, latin1(title), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(INK)
        self.set_line_width(0.3)
        y = self.get_y()
        self.line(self.l_margin, y, self.l_margin + self.content_width, y)
        self.ln(2)

    def fields(self, pairs: Sequence[tuple[str, str]], *, columns: int = 2) -> None:
        """Labels and values in ``columns`` columns: the label small and grey above its value."""
        width = self.content_width / columns
        for start in range(0, len(pairs), columns):
            row = pairs[start : start + columns]
            if self.will_page_break(11):
                self.add_page()
            top = self.get_y()
            for index, (label, value) in enumerate(row):
                x = self.l_margin + index * width
                self.set_xy(x, top)
                self.set_font(FONT, "", 7.5)
                self.set_text_color(MUTED)
                self.cell(width - 3, 4, latin1(label.upper()))
                self.set_xy(x, top + 4)
                self.set_font(FONT, "", 10)
                self.set_text_color(INK)
                self.cell(width - 3, 5, self.fit(value, width - 3))
            self.set_xy(self.l_margin, top + 11)

    def data_table(
        self,
        columns: Sequence[Column],
        rows: Sequence[Sequence[str]],
        *,
        bold_last: bool = False,
    ) -> None:
        """A table whose heading row repeats on each page it runs over; long cells wrap."""
        total = sum(column.width for column in columns)
        widths = [self.content_width * column.width / total for column in columns]
        self.set_font(FONT, "", 8.5)
        self.set_draw_color(RULE)
        self.set_line_width(0.2)
        heading = FontFace(emphasis="BOLD", fill_color=SHADE, color=INK)
        with self.table(
            col_widths=widths,
            text_align=tuple(column.align for column in columns),
            headings_style=heading,
            line_height=4.6,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            repeat_headings=1,
            padding=1,
            width=self.content_width,
        ) as table:
            titles = table.row()
            for column in columns:
                titles.cell(latin1(column.heading))
            for index, values in enumerate(rows):
                row = table.row()
                bold = bold_last and index == len(rows) - 1
                style = FontFace(emphasis="BOLD") if bold else None
                for value in values:
                    row.cell(latin1(value), style=style)
        self.ln(2)

    def note(self, value: str) -> None:
        """A small grey remark."""
        self.set_font(FONT, "I", 8.5)
        self.set_text_color(MUTED)
        self.multi_cell(0, 4.5, latin1(value), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(INK)

    def fit(self, value: str, width: float) -> str:
        """``value`` cut with an ellipsis to fit ``width`` in the current font."""
        text = latin1(value)
        if self.get_string_width(text) <= width:
            return text
        while text and self.get_string_width(text + "...") > width:
            text = text[:-1]
        return text.rstrip() + "..."
