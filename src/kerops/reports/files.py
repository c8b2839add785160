"""The files an export writes, in the reader's language and time zone (es-CL by default):

- **CSV**: UTF-8 with a byte-order mark, every cell formatted text as the reader writes it
  (``kerops.core.formats``, Babel's rules): es-CL separates cells with ``;`` (its decimal
  separator is the comma, and Excel in Chile opens such a file in columns), dates
  ``dd-mm-yyyy``, date-times ``dd-mm-yyyy HH:mm`` in the reader's time zone, ``1.234,5``,
  ``$ 1.234.567``; English with ``,``, ``7 Dec 2026``, ``1,234.5``, ``CLP 1,234,567``. Written
  a chunk of rows at a time (never the whole file in memory).
- **XLSX**: real numbers, money in major units and real dates and date-times (in the reader's
  time zone) with number formats of the language; text is always text. Written in
  xlsxwriter's constant-memory mode to a temporary file.
- **PDF**: a paginated table (fpdf2, Helvetica: Latin-1) with the list's title, its filters, the
  generation time and ``page n of m``; black text, grey rules and header: readable when printed
  in black and white.

A text cell a spreadsheet would run as a formula gets a leading apostrophe
(``kerops.exports.service.neutralised``).
"""

from __future__ import annotations

import csv
import enum
import io
import shutil
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter
from babel.dates import get_month_names
from babel.numbers import get_currency_precision, get_decimal_symbol, get_group_symbol
from fpdf import FPDF

from kerops.core import formats
from kerops.core.i18n import CATALOG_DIRS, gettext
from kerops.core.labels import label
from kerops.exports.service import neutralised
from kerops.operations.schemas import ticket_code
from kerops.reports.lists import Column, ExportList

FONT = "Helvetica"
#: Rows a PDF holds at most (a report of more is refused: ``too_many_rows_for_pdf``).
PDF_MAX_ROWS = 20_000
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
_XLSX_DATE = {"es-CL": "dd-mm-yyyy", "en": "d mmm yyyy"}
_XLSX_MOMENT = {"es-CL": "dd-mm-yyyy hh:mm", "en": "d mmm yyyy hh:mm"}


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in its currency's major units (``Decimal``)."""

    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class Layout:
    """What every file of one export shares: its list, language and time zone, title and the
    filters it was asked with (as printed)."""

    export: ExportList
    language: str
    timezone: str
    filters: Mapping[str, Any]
    generated_at: datetime

    @property
    def headers(self) -> list[str]:
        """The columns' headers in the reader's language."""
        return [gettext(column.header, self.language) for column in self.export.columns]

    @property
    def title(self) -> str:
        """The list's name in the reader's language."""
        return gettext(self.export.title, self.language)

    def filters_text(self) -> str:
        """The filters asked for, ``name: value`` (``-`` for none)."""
        parts = []
        for name, value in self.filters.items():
            if value is None or value == [] or value == "":
                continue
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{name}: {shown}")
        return "; ".join(parts) or gettext("none", self.language)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _moment(value: Any, timezone: str) -> datetime:
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(formats.DEFAULT_TIMEZONE)
    return moment.astimezone(zone)


def cell(column: Column, row: Mapping[str, Any], layout: Layout) -> Any:
    """A row's value as the files hold it: None, text, an int, a ``Decimal``, a ``Money``, a
    ``date`` or a ``datetime`` in the reader's time zone."""
    value = _plain(row.get(column.key))
    if value is None or value == "":
        return None
    match column.kind:
        case "code":
            return ticket_code(int(value))
        case "number":
            return value if isinstance(value, int | float | Decimal) else None
        case "quantity":
            return Decimal(value)
        case "money":
            currency = str(row.get("currency") or "CLP")
            amount = Decimal(int(value)).scaleb(-get_currency_precision(currency))
            return Money(amount, currency)
        case "boolean":
            return gettext("Yes", layout.language) if value else gettext("No", layout.language)
        case "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        case "datetime":
            return _moment(value, layout.timezone)
        case "label":
            return label(column.labels or "", value, layout.language)
    return str(value)


def cells(row: Mapping[str, Any], layout: Layout) -> list[Any]:
    """A row's cells, in the export's columns."""
    return [cell(column, row, layout) for column in layout.export.columns]


def text(value: Any, language: str) -> str:
    """A cell as the reader writes it (CSV and PDF), by Babel's rules (``kerops.core.formats``)."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return formats.format_money(value.amount, value.currency, language)
    if isinstance(value, datetime):
        return formats.format_datetime(value, language, timezone=str(value.tzinfo))
    if isinstance(value, date):
        return formats.format_day(value, language)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return formats.format_number(value, language)
    return str(value)


class Writer:
    """``text`` for one language, fast: the separators, currency prefixes and month names are
    asked of Babel once, and the common cells (whole numbers, quantities of up to three
    decimals, amounts, dates and date-times) are written with them; anything else goes through
    ``text``. (``tests/reports`` checks both write the same.)"""

    def __init__(self, language: str) -> None:
        self.language = language
        locale = CATALOG_DIRS[language]
        self.group = get_group_symbol(locale)
        self.decimal = get_decimal_symbol(locale)
        self.months = get_month_names("abbreviated", locale=locale)
        self.prefixes: dict[str, tuple[str, int]] = {}

    def _grouped(self, value: Decimal | int, decimals: int | None = None) -> str:
        if decimals is not None:
            written = format(value, f",.{decimals}f")
        else:
            written = format(value, ",d" if isinstance(value, int) else ",f")
        return written.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)

    def _money(self, value: Money) -> str:
        if value.currency not in self.prefixes:
            precision = get_currency_precision(value.currency)
            zero = formats.format_money(Decimal(0), value.currency, self.language)
            self.prefixes[value.currency] = (zero[: zero.index("0")], precision)
        prefix, precision = self.prefixes[value.currency]
        sign = "-" if value.amount < 0 else ""
        return f"{sign}{prefix}{self._grouped(abs(value.amount), precision)}"

    def text(self, value: Any) -> str:
        """``text(value, language)``."""
        if value is None:
            return ""
        kind = type(value)
        if kind is str:
            return str(value)
        if kind is Money:
            return self._money(value)
        if kind is datetime:
            if self.language == "es-CL":
                return f"{value:%d-%m-%Y %H:%M}"
            return f"{value.day} {self.months[value.month]} {value.year}, {value:%H:%M}"
        if kind is date:
            if self.language == "es-CL":
                return f"{value:%d-%m-%Y}"
            return f"{value.day} {self.months[value.month]} {value.year}"
        if kind is int:
            return self._grouped(value)
        if kind is Decimal and value.is_finite() and value.as_tuple().exponent >= -3:  # type: ignore[operator]
            normal = value.normalize()
            if normal == normal.to_integral_value():
                return self._grouped(int(normal))
            return self._grouped(normal)
        return text(value, self.language)


# --- CSV -----------------------------------------------------------------------------------------


class CsvFile:
    """A CSV file written a chunk of rows at a time: each ``rows`` answers the bytes of its
    rows (the first call's start with the byte-order mark and the header)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._buffer = io.StringIO()
        delimiter = "," if layout.language == "en" else ";"
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator="\r\n")
        self._started = False
        self._text = Writer(layout.language)

    def rows(self, rows: Sequence[Mapping[str, Any]]) -> bytes:
        """The CSV bytes of ``rows`` (with the header before the first)."""
        self._buffer.seek(0)
        self._buffer.truncate()
        head = b""
        if not self._started:
            self._started = True
            head = "\ufeff".encode()
            self._writer.writerow([neutralised(h) for h in self.layout.headers])
        write = self._text.text
        for row in rows:
            self._writer.writerow([neutralised(write(value)) for value in cells(row, self.layout)])
        return head + self._buffer.getvalue().encode("utf-8")


# --- XLSX ----------------------------------------------------------------------------------------


class XlsxFile:
    """An XLSX workbook written row by row in constant memory to ``path``."""

    def __init__(self, layout: Layout, path: str) -> None:
        self.layout = layout
        self.book = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "remove_timezone": True,
            },
        )
        self.sheet = self.book.add_worksheet(layout.title[:31])
        language = layout.language
        self.bold = self.book.add_format({"bold": True})
        self.day = self.book.add_format({"num_format": _XLSX_DATE[language]})
        self.moment = self.book.add_format({"num_format": _XLSX_MOMENT[language]})
        self.money: dict[str, Any] = {}
        self.quantity = self.book.add_format({"num_format": "#,##0.###"})
        for col, header in enumerate(layout.headers):
            self.sheet.write_string(0, col, header, self.bold)
        self.sheet.freeze_panes(1, 0)
        self.next_row = 1

    def _money_format(self, currency: str) -> Any:
        if currency not in self.money:
            decimals = get_currency_precision(currency)
            pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
            sign = "$" if currency == "CLP" else currency
            self.money[currency] = self.book.add_format({"num_format": f'"{sign}" {pattern}'})
        return self.money[currency]

    def rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write ``rows`` after the ones written."""
        for row in rows:
            number = self.next_row
            for col, value in enumerate(cells(row, self.layout)):
                if value is None:
                    continue
                if isinstance(value, Money):
                    self.sheet.write_number(
                        number, col, float(value.amount), self._money_format(value.currency)
                    )
                elif isinstance(value, datetime):
                    self.sheet.write_datetime(number, col, value, self.moment)
                elif isinstance(value, date):
                    self.sheet.write_datetime(number, col, value, self.day)
                elif isinstance(value, Decimal):
                    self.sheet.write_number(number, col, float(value), self.quantity)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    self.sheet.write_number(number, col, value)
                else:
                    self.sheet.write_string(number, col, str(value))
            self.next_row += 1

    def close(self) -> None:
        """Finish the workbook (written to its path)."""
        self.book.close()


# --- PDF -----------------------------------------------------------------------------------------


def _latin1(value: str) -> str:
    return value.encode("latin-1", errors="replace").decode("latin-1")


class _Pdf(FPDF):
    layout: Layout

    def header(self) -> None:
        layout = self.layout
        self.set_font(FONT, "B", 13)
        self.cell(0, 7, _latin1(layout.title), new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 8)
        generated = formats.format_datetime(
            layout.generated_at, layout.language, timezone=layout.timezone
        )
        line = gettext(
            "Filters: {filters} · Generated on {when}",
            layout.language,
            filters=layout.filters_text(),
            when=generated,
        )
        self.multi_cell(0, 4, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)
        self._table_head()

    def _table_head(self) -> None:
        self.set_font(FONT, "B", 7)
        self.set_fill_color(225, 225, 225)
        self.set_draw_color(150, 150, 150)
        for width, header in zip(self.widths, self.layout.headers, strict=True):
            self.cell(width, 6, _latin1(header)[:40], border=1, fill=True)
        self.ln(6)
        self.set_font(FONT, "", 7)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        page = gettext(
            "Page {page} of {pages}",
            self.layout.language,
            page=self.page_no(),
            pages="{nb}",
        )
        self.cell(0, 6, _latin1(page), align="C")

    @property
    def widths(self) -> list[float]:
        columns = self.layout.export.columns
        weights = [2.0 if column.kind == "text" else 1.0 for column in columns]
        total = sum(weights)
        usable = self.w - self.l_margin - self.r_margin
        return [usable * weight / total for weight in weights]


class PdfFile:
    """A PDF table of the export's rows (see the module's description)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        pdf = _Pdf(orientation="L", format="A4")
        pdf.compress = False  # its text stays searchable
        pdf.layout = layout
        pdf.alias_nb_pages("{nb}")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_title(_latin1(layout.title))
        pdf.add_page()
        self.pdf = pdf
        self.count = 0
        self.writer = Writer(layout.language)

    def rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add ``rows`` to the table."""
        pdf = self.pdf
        widths = pdf.widths
        write = self.writer.text
        for row in rows:
            self.count += 1
            if pdf.will_page_break(5):
                pdf.add_page()
            for width, (column, value) in zip(
                widths,
                zip(self.layout.export.columns, cells(row, self.layout), strict=True),
                strict=True,
            ):
                shown = _latin1(write(value))
                right = column.kind in {"number", "quantity", "money"}
                limit = int(width / 1.4)
                pdf.cell(width, 5, shown[:limit], border="B", align="R" if right else "L")
            pdf.ln(5)

    def output(self, out: IO[bytes]) -> None:
        """Write the document to ``out``."""
        if self.count == 0:
            self.pdf.set_font(FONT, "I", 9)
            self.pdf.cell(0, 8, _latin1(gettext("No rows.", self.layout.language)))
        out.write(bytes(self.pdf.output()))


def copy_file(path: str, out: IO[bytes]) -> None:
    """Copy the file at ``path`` into ``out``."""
    with open(path, "rb") as source:
        shutil.copyfileobj(source, out, 1 << 20)
