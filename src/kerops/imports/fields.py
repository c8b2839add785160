"""Custom-field columns of the imports of locales and assets: one column per field of the
client, headed ``campo:<code>`` / ``field:<code>`` or as exports write it
(``Label (field:<code>)``). The client's fields are read once per import; each row's cells are
read by :func:`kerops.customfields.service.parse_cells` and stored as the API stores them.

A column naming no field of the client, or an archived field, is one problem of the header (an
export never writes an archived field); an active required field without a column is a missing
column, and its empty cell a problem of its row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.i18n import N_, gettext
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity, FieldType
from kerops.imports.columns import (
    CellError,
    ImportKind,
    Prefixed,
    Reading,
    add_prefixed,
    as_text,
    read_decimal,
)
from kerops.imports.schemas import ImportProblem
from kerops.imports.sheets import Row, Sheet

#: The family's key: a row's cells are ``row.named[FAMILY]`` (code → text).
FAMILY = "custom_fields"
#: The entity whose fields each kind's file carries.
ENTITIES: dict[ImportKind, FieldEntity] = {
    ImportKind.locales: FieldEntity.locale,
    ImportKind.assets: FieldEntity.asset,
}
#: The types as the notes of a template name them.
TYPE_LABELS: dict[FieldType, str] = {
    FieldType.text: N_("Custom field: text (up to 2,000 characters)."),
    FieldType.number: N_("Custom field: a number (1.234,5 or 1234.5)."),
    FieldType.date: N_("Custom field: a date (aaaa-mm-dd or dd-mm-aaaa)."),
    FieldType.boolean: N_("Custom field: sí or no (yes or no)."),
    FieldType.choice: N_("Custom field: one of its choices, by code or label."),
}


def _cell(value: Any, _reading: Reading) -> Any:
    """A cell kept as text, or as the number an XLSX number cell holds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return as_text(value)


def _text(definition: customfields.Definition, value: Any, reading: Reading) -> str:
    """A cell's text for ``parse_cells``: a number field's cell read as the import's other
    numbers are (``1.234`` is a thousand two hundred thirty-four in es-CL)."""
    if value is None:
        return ""
    if definition.type is not FieldType.number:
        return as_text(value)
    try:
        return str(read_decimal(value, reading))
    except CellError:
        return as_text(value)


for _kind in ENTITIES:
    add_prefixed(
        _kind,
        Prefixed(FAMILY, "campo", "field", _cell, match=customfields.header_code),
    )


def header(language: str, code: str) -> str:
    """A custom field's header in a template."""
    return f"{'field' if language == 'en' else 'campo'}:{code}"


async def template_columns(
    session: AsyncSession, client_id: uuid.UUID | None, kind: ImportKind, language: str
) -> list[tuple[str, list[str]]]:
    """The client's active fields of the kind's entity: each one's header and its row of the
    notes (header, required, what it takes, example). No client or no such entity: none."""
    entity = ENTITIES.get(kind)
    if client_id is None or entity is None:
        return []
    found = await customfields.definitions(session, client_id=client_id, entity=entity)
    yes, no = gettext("yes", language), gettext("no", language)
    columns: list[tuple[str, list[str]]] = []
    for definition in found:
        if not definition.is_active:
            continue
        title = header(language, definition.code)
        what = f"{definition.label}. {gettext(TYPE_LABELS[definition.type], language)}"
        if definition.choices:
            allowed = ", ".join(code for code, _ in definition.choices)
            what += " " + gettext("Allowed values: {values}.", language, values=allowed)
        columns.append((title, [title, yes if definition.required else no, what, ""]))
    return columns


@dataclass
class FieldCells:
    """The custom-field columns of one file, checked against the client's fields."""

    sheet: Sheet
    #: The fields the file's columns name (active, of the client), by code.
    usable: dict[str, customfields.Definition] = field(default_factory=dict)

    def values(self, row: Row) -> dict[str, Any] | None:
        """A row's values (``{}`` without columns), or None with its problems listed."""
        if not self.usable:
            return {}
        given = row.named.get(FAMILY, {})
        reading = Reading(self.sheet.language)
        cells = {code: _text(d, given.get(code), reading) for code, d in self.usable.items()}
        values, errors = customfields.parse_cells(self.usable.values(), cells, creating=True)
        for code, message in errors.items():
            empty = not cells.get(code, "").strip()
            problem = "custom_field_required" if empty else "invalid_custom_field"
            self.sheet.problem(row, f"{FAMILY}:{code}", problem, message)
        return None if errors else values


async def read_fields(
    session: AsyncSession, sheet: Sheet, client_id: uuid.UUID | None
) -> FieldCells:
    """The client's fields of the sheet's entity, read once, and the problems of the header:
    a column naming no field of the client (or an archived one), a required field left out."""
    result = FieldCells(sheet)
    entity = ENTITIES.get(sheet.kind)
    codes = sheet.names(FAMILY)
    if entity is None or client_id is None:
        for code in codes:
            _unknown(sheet, code)
        return result
    found = {
        d.code: d
        for d in await customfields.definitions(session, client_id=client_id, entity=entity)
    }
    for code in codes:
        definition = found.get(code)
        if definition is None:
            _unknown(sheet, code)
        elif not definition.is_active:
            sheet.problem(
                sheet.header_row,
                f"{FAMILY}:{code}",
                "custom_field_archived",
                gettext("The custom field '{code}' is archived: remove its column.", code=code),
            )
        else:
            result.usable[code] = definition
    for definition in found.values():
        if definition.is_active and definition.required and definition.code not in codes:
            sheet.problems.append(
                ImportProblem(
                    row=sheet.header_row,
                    column=header(sheet.language, definition.code),
                    code="missing_column",
                    message=gettext("This column is required."),
                )
            )
    return result


def _unknown(sheet: Sheet, code: str) -> None:
    sheet.problem(
        sheet.header_row,
        f"{FAMILY}:{code}",
        "unknown_custom_field",
        gettext("Unknown custom field '{code}'.", code=code),
    )
