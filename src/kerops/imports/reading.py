"""Reading an uploaded spreadsheet: XLSX or CSV (UTF-8, ``,`` or ``;`` between cells), told
apart by the bytes, never by the file's name."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.storage.sniffing import XLSX, UnsupportedMediaType, office_type, text_problem

#: Every row of a sheet: its cells in order (strings, or numbers/dates/booleans from XLSX).
Table = list[list[Any]]

_ZIP_MAGIC = b"PK\x03\x04"


def _not_a_spreadsheet() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        gettext("The file must be a CSV table in UTF-8 or an Excel workbook (.xlsx)."),
        code="unsupported_file_type",
    )


def read_table(data: bytes) -> Table:
    """The rows of the file's first sheet (XLSX) or of the CSV text, header first."""
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    if not data or text_problem(data, decoder, final=True):
        raise _not_a_spreadsheet()
    return _read_csv(data.decode("utf-8-sig"))


def _read_xlsx(data: bytes) -> Table:
    source = io.BytesIO(data)
    try:
        kind = office_type(source, False, XLSX)
    except UnsupportedMediaType:
        raise _not_a_spreadsheet() from None
    if kind != XLSX:
        raise _not_a_spreadsheet()
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            return []
        sheet = workbook.get_sheet_by_index(0)
        rows: Table = sheet.to_python(skip_empty_area=False)
    except (zipfile.BadZipFile, ValueError, OSError, Exception) as exc:  # calamine's own errors
        raise Unprocessable(
            gettext("The workbook cannot be read."),
            code="unreadable_file",
            errors=[field_error(("body", "file"), gettext("The workbook cannot be read."))],
        ) from exc
    return rows


def _delimiter(text: str) -> str:
    """``;`` when the header line has more of them than commas (Excel in Chile writes ``;``)."""
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


def _read_csv(text: str) -> Table:
    reader: Iterator[list[str]] = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(text)
    )
    try:
        return [list(row) for row in reader]
    except csv.Error as exc:
        raise Unprocessable(
            gettext("The CSV table cannot be read: {problem}.", problem=str(exc)),
            code="unreadable_file",
            errors=[field_error(("body", "file"), str(exc))],
        ) from exc
