"""Downloadable templates of each kind: the headers in a language, an example row, and (XLSX)
a notes sheet explaining each column. Every cell is written as text: a template never holds a
formula."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

import xlsxwriter

from kerops.core.i18n import gettext
from kerops.imports.columns import NOTES_HEADERS, ImportKind, columns_of
from kerops.imports.schemas import TemplateFormat

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
#: What would make a spreadsheet read a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-\d[\d.,]*")


def _safe(value: str) -> str:
    """A cell's text that no spreadsheet reads as a formula (an apostrophe in front)."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return f"'{value}"
    return value


def _help(text: str, language: str) -> str:
    """A column's help in ``language`` (and the allowed values, kept as they are)."""
    if not text:
        return ""
    own, bar, values = text.partition("|")
    translated = gettext(own, language)
    return (
        f"{translated} {gettext('Allowed values: {values}.', language, values=values)}"
        if bar
        else translated
    )


def rows_of(
    kind: ImportKind, language: str, extra: Sequence[tuple[str, list[str]]] = ()
) -> tuple[list[str], list[str], list[list[str]]]:
    """The headers, the example row and the notes (one row per column) of a kind, then the
    ``extra`` columns (header, notes row: the client's custom fields) with an empty example."""
    spec = columns_of(kind)
    headers = [c.header(language) for c in spec.columns]
    example = [c.example(language) for c in spec.columns]
    yes = gettext("yes", language)
    no = gettext("no", language)
    notes = [
        [
            c.header(language),
            yes if c.required else no,
            _help(c.help, language),
            c.example(language),
        ]
        for c in spec.columns
    ]
    for family in spec.prefixed:
        if family.match is not None:
            continue
        header = family.header(language, family.example_name)
        headers.append(header)
        example.append(family.example_value)
        notes.append([header, no, _help(family.help, language), family.example_value])
    for header, note in extra:
        headers.append(header)
        example.append("")
        notes.append(note)
    return headers, example, notes


def build(
    kind: ImportKind,
    fmt: TemplateFormat,
    language: str,
    extra: Sequence[tuple[str, list[str]]] = (),
) -> tuple[bytes, str, str]:
    """The template's bytes, media type and file name (``extra``: see :func:`rows_of`)."""
    headers, example, notes = rows_of(kind, language, extra)
    name = f"{kind.value}-{'plantilla' if language != 'en' else 'template'}"
    if fmt is TemplateFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";" if language != "en" else ",", lineterminator="\r\n")
        writer.writerow([_safe(h) for h in headers])
        writer.writerow([_safe(v) for v in example])
        return ("\ufeff" + out.getvalue()).encode("utf-8"), CSV_MEDIA_TYPE, f"{name}.csv"
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    data = workbook.add_worksheet(gettext("Data", language)[:31])
    for col, header in enumerate(headers):
        data.write_string(0, col, header, bold)
        data.write_string(1, col, _safe(example[col]))
        data.set_column(col, col, max(12, len(header) + 2))
    sheet = workbook.add_worksheet(gettext("Notes", language)[:31])
    for col, title in enumerate(NOTES_HEADERS):
        sheet.write_string(0, col, gettext(title, language), bold)
    for line, cells in enumerate(notes, start=1):
        for col, value in enumerate(cells):
            sheet.write_string(line, col, _safe(value))
    general = [
        gettext("Dates: dd-mm-aaaa or aaaa-mm-dd.", language),
        gettext(
            "Numbers: in es-CL a comma before the decimals (1.234,5); a dot also works.", language
        ),
        gettext(
            "Delete the example row before importing. The first sheet is the one read.", language
        ),
    ]
    for offset, line_text in enumerate(general, start=len(notes) + 2):
        sheet.write_string(offset, 0, line_text)
    sheet.set_column(0, 0, 28)
    sheet.set_column(2, 2, 80)
    workbook.close()
    return buffer.getvalue(), XLSX_MEDIA_TYPE, f"{name}.xlsx"
