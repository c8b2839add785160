"""Spreadsheet exports: the rows of a list (its filters, the caller's reach) as CSV or XLSX, with
headers in the reader's language and a column per active custom field.

Rows are read as their list reads them, in one query, at most ``export_max_rows`` of them (one
more is refused, 422 ``export_too_large``): the file is built in memory, so its size is bounded.
Text cells that a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import xlsxwriter

from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import N_, gettext
from kerops.core.pagination import PageParams
from kerops.core.reads import Reader
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity, FieldType
from kerops.operations.schemas import ticket_code


class ExportFormat(enum.StrEnum):
    """The file an export is written as."""

    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an export: the row's key, its header (translated when written) and how
    its values are shown."""

    key: str
    header: str
    kind: str = "text"  # text, number, date, datetime, boolean, code (a ticket's number)


#: The columns of each kind of export, in order (custom fields follow).
COLUMNS: dict[FieldEntity, tuple[Column, ...]] = {
    FieldEntity.asset: (
        Column("id", N_("Id")),
        Column("name", N_("Name")),
        Column("category", N_("Category")),
        Column("make", N_("Make")),
        Column("model", N_("Model")),
        Column("serial_number", N_("Serial number")),
        Column("status", N_("Status")),
        Column("criticality", N_("Criticality"), "number"),
        Column("install_date", N_("Install date"), "date"),
        Column("warranty_end_date", N_("Warranty end date"), "date"),
        Column("locale_id", N_("Locale id")),
        Column("area_id", N_("Area id")),
        Column("parent_id", N_("Parent asset id")),
        Column("created_at", N_("Created (UTC)"), "datetime"),
    ),
    FieldEntity.ticket: (
        Column("number", N_("Ticket"), "code"),
        Column("id", N_("Id")),
        Column("title", N_("Title")),
        Column("status", N_("Status")),
        Column("priority", N_("Priority")),
        Column("locale_id", N_("Locale id")),
        Column("asset_id", N_("Asset id")),
        Column("requester_id", N_("Requester id")),
        Column("technician_id", N_("Technician id")),
        Column("sla_resolution_due_at", N_("Resolution due (UTC)"), "datetime"),
        Column("completed_at", N_("Completed (UTC)"), "datetime"),
        Column("labour_cost_minor", N_("Labour cost (minor units)"), "number"),
        Column("parts_cost_minor", N_("Parts cost (minor units)"), "number"),
        Column("currency", N_("Currency")),
        Column("created_at", N_("Created (UTC)"), "datetime"),
    ),
    FieldEntity.locale: (
        Column("id", N_("Id")),
        Column("code", N_("Code")),
        Column("name", N_("Name")),
        Column("address", N_("Address")),
        Column("city", N_("City")),
        Column("region", N_("Region")),
        Column("country", N_("Country")),
        Column("timezone", N_("Timezone")),
        Column("is_active", N_("Active"), "boolean"),
        Column("created_at", N_("Created (UTC)"), "datetime"),
    ),
}

#: A list's page of rows: the list's own service function, its filters bound.
PageOf = Callable[[PageParams], Awaitable[tuple[Sequence[dict[str, Any]], str | None]]]


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it (a leading apostrophe before a
    formula's first character)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _cell(column: Column, value: Any, choices: dict[str, str] | None = None) -> Any:
    """A row's value as the export shows it: a number, a date, a datetime (UTC, naive) or
    text."""
    value = _plain(value)
    if value is None or value == "":
        return None
    if column.kind == "code":
        return ticket_code(int(value))
    if column.kind == "number":
        return value if isinstance(value, int | float) else None
    if column.kind == "boolean":
        return gettext("Yes") if value else gettext("No")
    if column.kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if column.kind == "datetime":
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    if choices is not None:
        return choices.get(str(value), str(value))
    return str(value)


_FIELD_KINDS = {
    FieldType.text: "text",
    FieldType.number: "number",
    FieldType.date: "date",
    FieldType.boolean: "boolean",
    FieldType.choice: "text",
}


@dataclass(frozen=True, slots=True)
class Sheet:
    """What an export writes: its headers and its rows of cells."""

    headers: list[str]
    kinds: list[str]
    rows: list[list[Any]]


async def sheet(reader: Reader, entity: FieldEntity, page_of: PageOf, *, max_rows: int) -> Sheet:
    """The rows the list reads (its filters, the caller's reach, its default order) as cells,
    under translated headers and a column per active custom field the caller reads: 422
    ``export_too_large`` past ``max_rows``."""
    async with reader.sharing():
        items, cursor = await page_of(PageParams(limit=max_rows, cursor=None, sort=None))
        fields = [
            definition
            for definition in await customfields.visible_definitions(reader, entity)
            if definition.is_active
        ]
    if cursor is not None:
        msg = gettext(
            "An export holds at most {maximum} rows; narrow it with the list's filters.",
            maximum=max_rows,
        )
        raise Unprocessable(
            msg,
            code="export_too_large",
            errors=[field_error(("query",), msg, "export_too_large")],
            maximum=max_rows,
        )
    seen: set[str] = set()
    custom = []
    for definition in fields:  # one column per code (staff may read several clients')
        if definition.code not in seen:
            seen.add(definition.code)
            custom.append(definition)
    columns = COLUMNS[entity]
    headers = [gettext(column.header) for column in columns]
    headers += [f"{definition.label} (field:{definition.code})" for definition in custom]
    kinds = [column.kind for column in columns] + [_FIELD_KINDS[d.type] for d in custom]
    rows = []
    for item in items:
        cells = [_cell(column, item.get(column.key)) for column in columns]
        values = item.get("custom_fields") or {}
        for definition in custom:
            column = Column(definition.code, "", _FIELD_KINDS[definition.type])
            choices = dict(definition.choices) if definition.type is FieldType.choice else None
            cells.append(_cell(column, values.get(definition.code), choices))
        rows.append(cells)
    return Sheet(headers=headers, kinds=kinds, rows=rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return neutralised(str(value))


def to_csv(data: Sheet) -> bytes:
    """The sheet as CSV: UTF-8 with a byte-order mark (so spreadsheets read accents), commas,
    dates ``YYYY-MM-DD``, times ``YYYY-MM-DD HH:MM:SS`` in UTC, numbers with a decimal point."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralised(header) for header in data.headers])
    for row in data.rows:
        writer.writerow([_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(data: Sheet, title: str) -> bytes:
    """The sheet as an XLSX workbook: numbers as numbers, dates and times as date cells (times
    in UTC), text always as text (never a formula or a link)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet_ = workbook.add_worksheet(title[:31])
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for col, header in enumerate(data.headers):
        sheet_.write_string(0, col, neutralised(header), bold)
    for row_number, row in enumerate(data.rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime):
                sheet_.write_datetime(row_number, col, value, moment)
            elif isinstance(value, date):
                sheet_.write_datetime(row_number, col, value, day)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                sheet_.write_number(row_number, col, value)
            else:
                sheet_.write_string(row_number, col, _text(value))
    sheet_.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()
