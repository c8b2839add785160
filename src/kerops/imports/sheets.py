"""From a table of cells to checked rows: headers matched to a kind's declared columns, each
cell read by its column's parser, every problem of the file listed by row and column."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.imports.columns import (
    CellError,
    Column,
    ImportKind,
    Prefixed,
    Reading,
    columns_of,
    normalise_header,
)
from kerops.imports.reading import Table
from kerops.imports.schemas import ImportProblem


@dataclass
class Row:
    """One data row: its number as the spreadsheet shows it, and its read values."""

    number: int
    values: dict[str, Any] = field(default_factory=dict)
    #: Per prefixed family, its named values (``meter`` → {"run_hours": 4200.0}).
    named: dict[str, dict[str, Any]] = field(default_factory=dict)
    ok: bool = True


@dataclass
class Sheet:
    """A file's rows of one kind, with the problems found so far."""

    kind: ImportKind
    language: str
    header_row: int
    #: Column key → its header as the file writes it.
    headers: dict[str, str]
    rows: list[Row]
    problems: list[ImportProblem]
    #: Whether the header matched (else the rows were not read).
    readable: bool = True
    #: ``<family>:<name>`` → the header of a prefixed column as the file writes it.
    named_headers: dict[str, str] = field(default_factory=dict)

    def names(self, family: str) -> list[str]:
        """The names of a prefixed family's columns in the file, in their order."""
        prefix = f"{family}:"
        return [key[len(prefix) :] for key in self.named_headers if key.startswith(prefix)]

    def header(self, key: str) -> str:
        """The header of a column as the file writes it (or as the template would)."""
        found = self.headers.get(key) or self.named_headers.get(key)
        if found is not None:
            return found
        for column in columns_of(self.kind).columns:
            if column.key == key:
                return column.header(self.language)
        return key

    def problem(self, row: Row | int, key: str | None, code: str, message: str) -> None:
        """Add a problem of a row (and column, by its key)."""
        number = row if isinstance(row, int) else row.number
        if isinstance(row, Row):
            row.ok = False
        self.problems.append(
            ImportProblem(
                row=number,
                column=self.header(key) if key is not None else None,
                code=code,
                message=message,
            )
        )

    def sorted_problems(self) -> list[ImportProblem]:
        """The problems by row, then column."""
        return sorted(self.problems, key=lambda p: (p.row, p.column or ""))

    def validate(
        self,
        row: Row,
        model: type[BaseModel],
        data: Mapping[str, Any],
        fields: Mapping[str, str] | None = None,
    ) -> Any:
        """``model`` built from ``data``, or ``None`` with each failing field listed under its
        column (``fields`` maps a model field to a column key where their names differ)."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                name = str(error["loc"][0]) if error["loc"] else None
                key = (fields or {}).get(name or "", name)
                known = key is not None and any(c.key == key for c in columns_of(self.kind).columns)
                self.problem(
                    row,
                    key if known else None,
                    "invalid_value",
                    gettext("This value is not valid: {reason}.", reason=error["msg"]),
                )
            return None


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _blank(cells: list[Any]) -> bool:
    """Whether a row has no cell with a value (``_cell`` of each is None), looking no further
    than its first value."""
    for value in cells:
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        return False
    return True


def _match(
    kind: ImportKind, header: str
) -> tuple[Column, None, None] | tuple[None, Prefixed, str] | None:
    norm = normalise_header(header)
    spec = columns_of(kind)
    for column in spec.columns:
        if norm in (normalise_header(column.es), normalise_header(column.en), column.key):
            return column, None, None
    for family in spec.prefixed:
        if family.match is not None and (named := family.match(header)) is not None:
            return None, family, named
    prefix, colon, name = header.partition(":")
    if colon and name.strip():
        norm_prefix = normalise_header(prefix)
        for family in spec.prefixed:
            if family.match is None and norm_prefix in (
                normalise_header(family.es),
                normalise_header(family.en),
            ):
                return None, family, name.strip()
    return None


def read_sheet(kind: ImportKind, table: Table, *, language: str, max_rows: int) -> Sheet:
    """Match the header to the kind's columns and read every data row (empty rows skipped)."""
    start = next((i for i, cells in enumerate(table) if not _blank(cells)), None)
    sheet = Sheet(kind, language, 1, {}, [], [])
    if start is None:
        sheet.problem(1, None, "empty_file", gettext("The file has no header row."))
        sheet.readable = False
        return sheet
    sheet.header_row = start + 1
    slots: list[tuple[int, Column | None, Prefixed | None, str | None]] = []
    seen: set[str] = set()
    for index, raw in enumerate(table[start]):
        header = _cell(raw)
        if header is None:
            continue
        header = str(header)
        found = _match(kind, header)
        if found is None:
            sheet.problems.append(
                ImportProblem(
                    row=sheet.header_row,
                    column=header,
                    code="unknown_column",
                    message=gettext("This column is not one of this import's columns."),
                )
            )
            continue
        column, family, name = found
        key = column.key if column is not None else f"{family.key}:{name}"  # type: ignore[union-attr]
        if key in seen:
            sheet.problems.append(
                ImportProblem(
                    row=sheet.header_row,
                    column=header,
                    code="duplicate_column",
                    message=gettext("This column appears twice."),
                )
            )
            continue
        seen.add(key)
        if column is not None:
            sheet.headers[column.key] = header
        else:
            sheet.named_headers[key] = header
        slots.append((index, column, family, name))
    for column in columns_of(kind).columns:
        if column.required and column.key not in sheet.headers:
            sheet.problems.append(
                ImportProblem(
                    row=sheet.header_row,
                    column=column.header(language),
                    code="missing_column",
                    message=gettext("This column is required."),
                )
            )
    data_rows = [
        (start + 2 + offset, cells)
        for offset, cells in enumerate(table[start + 1 :])
        if not _blank(cells)
    ]
    if len(data_rows) > max_rows:
        detail = gettext("A file may hold at most {max} rows.", max=max_rows)
        raise Unprocessable(
            detail,
            code="too_many_rows",
            errors=[field_error(("body", "file"), detail, "too_many_rows")],
        )
    if sheet.problems:
        sheet.rows = [Row(number, ok=False) for number, _ in data_rows]
        sheet.readable = False
        return sheet
    reading = Reading(language)
    required = [c.key for c in columns_of(kind).columns if c.required]
    # Per column of the file: where its cells are, its parser, and where a value goes.
    readers = [
        (
            index,
            column.parse if column is not None else family.parse,  # type: ignore[union-attr]
            column.key if column is not None else None,
            family.key if family is not None else None,
            name,
        )
        for index, column, family, name in slots
    ]
    for number, cells in data_rows:
        row = Row(number)
        values = row.values
        width = len(cells)
        failed: set[str] | None = None
        for index, parse, target, family_key, name in readers:
            if index >= width:
                continue
            value = cells[index]
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            elif value is None:
                continue
            try:
                parsed = parse(value, reading)
            except CellError as exc:
                row.ok = False
                if target is not None:
                    failed = {target} if failed is None else failed | {target}
                sheet.problems.append(
                    ImportProblem(
                        row=number,
                        column=str(table[start][index]).strip(),
                        code=exc.code,
                        message=exc.message,
                    )
                )
                continue
            if target is not None:
                values[target] = parsed
            else:
                assert family_key is not None and name is not None
                row.named.setdefault(family_key, {})[name] = parsed
        for needed in required:
            if needed not in values and (failed is None or needed not in failed):
                sheet.problem(row, needed, "required", gettext("This cell is required."))
        sheet.rows.append(row)
    return sheet
