"""Rules of custom fields: the definitions a client keeps, the values objects carry (checked on
every write), the list filters on them, and the conversion of spreadsheet cells for imports.

The kinds of object that carry values register their model here (``carried_by``), from their
own ``access_rules``: this module imports none of them.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.errors import Conflict, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import AnySelect, Reader
from kerops.customfields.models import CustomFieldDefinition, FieldEntity, FieldType
from kerops.customfields.schemas import MAX_TEXT, DefinitionCreate, DefinitionUpdate
from kerops.users import clients

#: The most fields (active or archived) a client defines per kind of object.
MAX_FIELDS_PER_ENTITY = 50
#: The earliest and latest date a ``date`` field holds (the API's range).
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2200, 12, 31)
#: The largest magnitude a ``number`` field holds (exact in every JSON reader).
MAX_NUMBER = 10**15
#: The most ``field`` filters one list request takes.
MAX_FILTERS = 20

DEFINITION_SORTS = {
    "position": CustomFieldDefinition.position,
    "code": CustomFieldDefinition.code,
    "created_at": CustomFieldDefinition.created_at,
}

#: Spreadsheet headers that name a custom field: ``field:<code>`` or ``campo:<code>``, alone or
#: after the field's label (``Color (field:color)``, as exports write them).
HEADER_PATTERN = re.compile(
    r"(?:^|\()\s*(?:field|campo)\s*:\s*([a-z0-9][a-z0-9_\-]{0,63})\s*\)?\s*$"
)
_TRUE = frozenset({"true", "1", "yes", "y", "si", "sí", "s", "x", "verdadero"})
_FALSE = frozenset({"false", "0", "no", "n", "falso"})

#: The model of each kind of object that carries values (registered by its module).
_CARRIERS: dict[FieldEntity, Any] = {}


def carried_by(entity: FieldEntity, model: Any) -> None:
    """Register the model whose ``custom_fields`` hold the values of ``entity``'s fields (it has
    ``client_id`` too)."""
    _CARRIERS[entity] = model


@dataclass(frozen=True, slots=True)
class Definition:
    """A custom field as the rules read it (from its row)."""

    id: uuid.UUID
    client_id: uuid.UUID
    entity: FieldEntity
    code: str
    label: str
    type: FieldType
    choices: tuple[tuple[str, str], ...]
    required: bool
    position: int
    is_active: bool

    @classmethod
    def of(cls, row: Any) -> Definition:
        """A definition from its ORM object or its row (columns by name)."""

        def get(name: str) -> Any:
            return row[name] if isinstance(row, Mapping) else getattr(row, name)

        return cls(
            id=get("id"),
            client_id=get("client_id"),
            entity=FieldEntity(get("entity")),
            code=get("code"),
            label=get("label"),
            type=FieldType(get("type")),
            choices=tuple((c["code"], c["label"]) for c in get("choices") or ()),
            required=bool(get("required")),
            position=int(get("position")),
            is_active=bool(get("is_active")),
        )


class FieldValueError(ValueError):
    """A value a field does not take: ``msg`` (translated) and ``type`` (machine)."""

    def __init__(self, msg: str, type_: str) -> None:
        super().__init__(msg)
        self.msg = msg
        self.type = type_


# --- definitions ---------------------------------------------------------------------------------


def _definitions_statement() -> Any:
    return (
        select(CustomFieldDefinition)
        .where(
            CustomFieldDefinition.client_id == bindparam("client_id"),
            CustomFieldDefinition.entity == bindparam("entity"),
        )
        .order_by(CustomFieldDefinition.position, CustomFieldDefinition.code)
    )


_DEFINITIONS = _definitions_statement()


async def definitions(
    session: AsyncSession, *, client_id: uuid.UUID, entity: FieldEntity
) -> list[Definition]:
    """The client's fields of ``entity`` (archived ones too), in order: one query, kept for the
    rest of the request (the session's)."""
    key = ("kerops.customfields", client_id, entity)
    cached: list[Definition] | None = session.info.get(key)
    if cached is None:
        rows = await session.execute(_DEFINITIONS, {"client_id": client_id, "entity": entity})
        cached = [Definition.of(row) for row in rows.scalars()]
        session.info[key] = cached
    return cached


def _forget(session: AsyncSession, client_id: uuid.UUID, entity: FieldEntity) -> None:
    session.info.pop(("kerops.customfields", client_id, entity), None)


def _choices(data: Sequence[Any]) -> list[dict[str, str]]:
    return [{"code": choice.code, "label": choice.label} for choice in data]


async def create_definition(
    session: AsyncSession, *, principal: Principal, data: DefinitionCreate
) -> CustomFieldDefinition:
    """Define a field (the client's owner or admins; staff naming the client)."""
    client_id = await clients.client_for_new(session, principal, data.client_id, "custom fields")
    count = select(func.count()).where(
        CustomFieldDefinition.client_id == client_id,
        CustomFieldDefinition.entity == data.entity,
    )
    taken = select(CustomFieldDefinition.id).where(
        CustomFieldDefinition.client_id == client_id,
        CustomFieldDefinition.entity == data.entity,
        CustomFieldDefinition.code == data.code,
    )
    used, existing = (await session.execute(select(count.scalar_subquery(), taken.exists()))).one()
    if existing:
        raise Conflict(
            gettext(
                "This client already has a {entity} field with code '{code}'.",
                entity=data.entity.value,
                code=data.code,
            ),
            code="custom_field_code_taken",
        )
    if used >= MAX_FIELDS_PER_ENTITY:
        raise Conflict(
            gettext(
                "A client defines at most {maximum} custom fields per kind of object; archive "
                "or delete one first.",
                maximum=MAX_FIELDS_PER_ENTITY,
            ),
            code="custom_field_limit",
            maximum=MAX_FIELDS_PER_ENTITY,
        )
    definition = CustomFieldDefinition(
        client_id=client_id,
        entity=data.entity,
        code=data.code,
        label=data.label,
        type=data.type,
        choices=_choices(data.choices),
        required=data.required,
        position=data.position,
        is_active=data.is_active,
    )
    session.add(definition)
    await session.flush()
    _forget(session, client_id, data.entity)
    return definition


async def list_definitions(
    reader: Reader,
    *,
    params: PageParams,
    entity: FieldEntity | None = None,
    is_active: bool | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the fields of the caller's client."""
    stmt = reader.rows(CustomFieldDefinition)
    if entity is not None:
        stmt = stmt.where(CustomFieldDefinition.entity == entity)
    if is_active is not None:
        stmt = stmt.where(CustomFieldDefinition.is_active.is_(is_active))
    return await reader.page(
        stmt,
        params,
        sort_fields=DEFINITION_SORTS,
        id_column=CustomFieldDefinition.id,
        default_sort="position",
    )


async def in_use(session: AsyncSession, definition: CustomFieldDefinition) -> bool:
    """Whether any object of the field's client has a value for it."""
    model = _CARRIERS.get(FieldEntity(definition.entity))
    if model is None:
        return False
    dialect = session.get_bind().dialect.name
    has = _has_key(model.custom_fields, definition.code, dialect)
    stmt = select(exists().where(model.client_id == definition.client_id, has))
    return bool((await session.execute(stmt)).scalar())


def _in_use_error() -> Conflict:
    return Conflict(
        gettext(
            "Objects have values for this field: archive it with is_active=false instead; its "
            "type cannot change."
        ),
        code="custom_field_in_use",
    )


async def update_definition(
    session: AsyncSession,
    *,
    principal: Principal,
    definition_id: uuid.UUID,
    data: DefinitionUpdate,
) -> CustomFieldDefinition:
    """Change a field's label, choices, order, requirement or archive it; its type only while
    no object has a value for it."""
    definition = await access.get_for_write(
        session, CustomFieldDefinition, definition_id, principal
    )
    changes = data.model_dump(exclude_unset=True)
    new_type = FieldType(changes.get("type", definition.type))
    if new_type is not definition.type and await in_use(session, definition):
        raise _in_use_error()
    if "choices" in changes:
        changes["choices"] = _choices(data.choices or [])
    choices = changes.get("choices", definition.choices)
    if new_type is FieldType.choice and not choices:
        msg = gettext("A choice field needs at least one choice.")
        raise Unprocessable(msg, errors=[field_error(("body", "choices"), msg, "choices_missing")])
    if new_type is not FieldType.choice and choices:
        if "choices" in changes:
            msg = gettext("Only a choice field has choices.")
            raise Unprocessable(msg, errors=[field_error(("body", "choices"), msg, "choices")])
        changes["choices"] = []
    for key, value in changes.items():
        setattr(definition, key, value)
    await session.flush()
    _forget(session, definition.client_id, FieldEntity(definition.entity))
    return definition


async def delete_definition(
    session: AsyncSession, *, principal: Principal, definition_id: uuid.UUID
) -> None:
    """Delete a field no object has a value for; one in use is refused (archive it instead)."""
    definition = await access.get_for_write(
        session, CustomFieldDefinition, definition_id, principal
    )
    if await in_use(session, definition):
        raise _in_use_error()
    await session.delete(definition)
    await session.flush()
    _forget(session, definition.client_id, FieldEntity(definition.entity))


# --- values --------------------------------------------------------------------------------------


def convert(definition: Definition, value: Any) -> Any:
    """``value`` as ``definition`` keeps it (numbers as int or float, dates as ISO text, a
    choice as its code), or ``FieldValueError``."""
    kind = definition.type
    if kind is FieldType.text:
        if not isinstance(value, str):
            raise FieldValueError(gettext("Must be text."), "custom_field_type")
        if len(value) > MAX_TEXT:
            raise FieldValueError(
                gettext("Must be at most {maximum} characters long.", maximum=MAX_TEXT),
                "string_too_long",
            )
        if "\x00" in value:
            raise FieldValueError(gettext("Must not contain NUL characters."), "custom_field_type")
        return value
    if kind is FieldType.number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldValueError(gettext("Must be a number."), "custom_field_type")
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise FieldValueError(
                gettext("Must be a number between -{maximum} and {maximum}.", maximum=MAX_NUMBER),
                "custom_field_range",
            )
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if kind is FieldType.date:
        if not isinstance(value, str):
            raise FieldValueError(gettext("Must be a date (YYYY-MM-DD)."), "custom_field_type")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise FieldValueError(
                gettext("Must be a date (YYYY-MM-DD)."), "custom_field_type"
            ) from None
        if not MIN_DATE <= day <= MAX_DATE:
            raise FieldValueError(
                gettext("Must be between 1900-01-01 and 2200-12-31."), "date_out_of_range"
            )
        return day.isoformat()
    if kind is FieldType.boolean:
        if not isinstance(value, bool):
            raise FieldValueError(gettext("Must be true or false."), "custom_field_type")
        return value
    # a choice: one of its codes
    if not isinstance(value, str):
        raise FieldValueError(gettext("Must be one of the field's choices."), "custom_field_type")
    codes = [code for code, _ in definition.choices]
    if value not in codes:
        raise FieldValueError(
            gettext("Must be one of: {choices}.", choices=", ".join(codes)),
            "custom_field_choice",
        )
    return value


def _error(prefix: tuple[str | int, ...], code: str, msg: str, type_: str) -> dict[str, Any]:
    return field_error((*prefix, code), msg, type_)


def check_values(
    found: Sequence[Definition],
    given: Mapping[str, Any] | None,
    *,
    current: Mapping[str, Any] | None = None,
    creating: bool,
    loc: tuple[str | int, ...] = ("body", "custom_fields"),
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The values an object keeps after a write that sends ``given`` (``None``: not sent), and
    the errors of the write (Pydantic's shape, at ``loc + (code,)``): unknown codes, values of
    the wrong type or out of the choices, required fields missing (on a create, or cleared),
    a changed value of an archived field."""
    by_code = {definition.code: definition for definition in found}
    values = dict(current or {})
    errors: list[dict[str, Any]] = []
    for code, value in (given or {}).items():
        definition = by_code.get(code)
        if definition is None:
            errors.append(
                _error(
                    loc,
                    code,
                    gettext("Unknown custom field '{code}'.", code=code),
                    "unknown_custom_field",
                )
            )
            continue
        if value is None or value == "":
            values.pop(code, None)
            continue
        try:
            converted = convert(definition, value)
        except FieldValueError as exc:
            errors.append(_error(loc, code, exc.msg, exc.type))
            continue
        if not definition.is_active and values.get(code) != converted:
            errors.append(
                _error(
                    loc,
                    code,
                    gettext("This field is archived; its value cannot change."),
                    "custom_field_archived",
                )
            )
            continue
        values[code] = converted
    touched = set(given or ())
    for definition in found:
        if not (definition.required and definition.is_active) or definition.code in values:
            continue
        if creating or definition.code in touched:
            errors.append(
                _error(
                    loc,
                    definition.code,
                    gettext("This field is required."),
                    "custom_field_required",
                )
            )
    return values, errors


async def values_for_write(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    entity: FieldEntity,
    given: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None = None,
    creating: bool,
) -> dict[str, Any]:
    """The ``custom_fields`` of an object being created (``creating``) or changed, from its
    ``current`` values and the ``given`` ones, checked against the client's fields of
    ``entity``: 422 with one error per offending field. A change that does not send
    ``custom_fields`` reads no definition."""
    if given is None and not creating:
        return dict(current or {})
    found = await definitions(session, client_id=client_id, entity=entity)
    values, errors = check_values(found, given, current=current, creating=creating)
    if errors:
        raise Unprocessable(gettext("Some custom fields are not valid; see errors."), errors=errors)
    return values


# --- spreadsheet cells (imports) -----------------------------------------------------------------


def header_code(header: str) -> str | None:
    """The field code a spreadsheet column's header names (``field:color``, ``campo:color``,
    ``Color (field:color)``), or None for a column that is not a custom field."""
    match = HEADER_PATTERN.search(header.strip().lower())
    return match.group(1) if match else None


def _cell_number(text: str) -> int | float:
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if "," in cleaned and "." in cleaned:
        # 1.234,5 (es-CL) or 1,234.5 (en): the last separator is the decimal one.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise FieldValueError(gettext("Must be a number."), "custom_field_type") from None
    if not number.is_finite():
        raise FieldValueError(gettext("Must be a number."), "custom_field_type")
    return int(number) if number == number.to_integral_value() else float(number)


def _cell_date(text: str) -> str:
    candidate = text[:10] if len(text) >= 10 and text[4:5] == "-" else text
    for parse in (date.fromisoformat, _dmy):
        try:
            return parse(candidate).isoformat()
        except ValueError:
            continue
    raise FieldValueError(gettext("Must be a date (YYYY-MM-DD)."), "custom_field_type")


def _dmy(text: str) -> date:
    # 31-12-2026 or 31/12/2026, as dates are written in Chile.
    parts = re.split(r"[/\-.]", text)
    if len(parts) != 3 or len(parts[2]) != 4:
        raise ValueError(text)
    day, month, year = (int(part) for part in parts)
    return date(year, month, day)


def _cell_value(definition: Definition, text: str) -> Any:
    kind = definition.type
    if kind is FieldType.number:
        return _cell_number(text)
    if kind is FieldType.date:
        return _cell_date(text)
    if kind is FieldType.boolean:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise FieldValueError(gettext("Must be yes or no."), "custom_field_type")
    if kind is FieldType.choice:
        lowered = text.lower()
        for code, label in definition.choices:
            if lowered in (code.lower(), label.lower()):
                return code
    return text


def parse_cells(
    definitions: Iterable[Definition],
    cells: Mapping[str, str],
    *,
    creating: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """A spreadsheet row's custom-field cells (``{code: text}``; see ``header_code``) as typed
    values, and a translated message per code that could not be read.

    Text is taken as written (trimmed); numbers in either notation (``1.234,5`` or
    ``1,234.5``); dates as ``YYYY-MM-DD`` (a time after it is ignored) or ``DD-MM-YYYY``
    (``/`` too); booleans as sí/no, yes/no, true/false, 1/0 or x; a choice by its code or its
    label, in any case. An empty cell is no value. With ``creating``, an active required field
    without a value is an error too. The values are then checked as any write's
    (``values_for_write``)."""
    found = list(definitions)
    by_code = {definition.code: definition for definition in found}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for code, raw in cells.items():
        text = (raw or "").strip()
        definition = by_code.get(code)
        if definition is None:
            errors[code] = gettext("Unknown custom field '{code}'.", code=code)
            continue
        if not text:
            continue
        try:
            values[code] = convert(definition, _cell_value(definition, text))
        except FieldValueError as exc:
            errors[code] = exc.msg
    if creating:
        for definition in found:
            if definition.required and definition.is_active and definition.code not in values:
                errors.setdefault(definition.code, gettext("This field is required."))
    return values, errors


# --- list filters --------------------------------------------------------------------------------

#: The ``field`` query parameter of the lists: ``code:value`` (equal), ``code:>=value`` or
#: ``code:<=value`` (numbers and dates).
FILTER_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}:[^\x00]{0,200}$"
FILTER_DESCRIPTION = (
    "Custom-field filter, repeatable (all must hold): `code:value` for an equal value (a "
    "choice's code, `true`/`false`, a date `YYYY-MM-DD`, a number); `code:>=value` and "
    "`code:<=value` for a range of a number or date field."
)


@dataclass(frozen=True, slots=True)
class _Filter:
    code: str
    op: str  # "=", ">=", "<="
    text: str


def _parse_filter(raw: str) -> _Filter:
    code, _, rest = raw.partition(":")
    for op in (">=", "<="):
        if rest.startswith(op):
            return _Filter(code, op, rest[len(op) :].strip())
    return _Filter(code, "=", rest.strip())


def _filter_error(msg: str, type_: str) -> Unprocessable:
    return Unprocessable(msg, errors=[field_error(("query", "field"), msg, type_)])


def _filter_value(definition: Definition, flt: _Filter) -> Any:
    if flt.op != "=" and definition.type not in (FieldType.number, FieldType.date):
        raise _filter_error(
            gettext(
                "The custom field '{code}' is not a number or a date: filter it with code:value.",
                code=flt.code,
            ),
            "custom_field_operator",
        )
    try:
        if definition.type is FieldType.number:
            return convert(definition, _cell_number(flt.text))
        if definition.type is FieldType.date:
            return convert(definition, flt.text)
        if definition.type is FieldType.boolean:
            if flt.text in ("true", "false"):
                return flt.text == "true"
            raise FieldValueError(gettext("Must be true or false."), "custom_field_type")
        return convert(definition, flt.text)
    except FieldValueError as exc:
        raise _filter_error(f"{flt.code}: {exc.msg}", exc.type) from None


def _path(code: str) -> str:
    return '$."' + code + '"'


def _has_key(column: Any, code: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return type_coerce(column, JSONB).has_key(code)  # type: ignore[no-any-return]
    return func.json_type(column, _path(code)).is_not(None)


def _clause(column: Any, definition: Definition, op: str, value: Any, dialect: str) -> Any:
    code = definition.code
    if dialect == "postgresql":
        document = type_coerce(column, JSONB)
        if op == "=":
            # Containment: served by the column's GIN index (jsonb_path_ops).
            return document.contains({code: value})
        item = document[code]
        if definition.type is FieldType.number:
            number = case(
                (func.jsonb_typeof(item) == "number", item.astext.cast(Numeric)), else_=None
            )
            bound = bindparam(None, Decimal(str(value)), type_=Numeric)
            return number >= bound if op == ">=" else number <= bound
        text = item.astext.collate("C")
        bound = bindparam(None, value, type_=String)
        return text >= bound if op == ">=" else text <= bound
    extracted = func.json_extract(column, _path(code))
    kind = func.json_type(column, _path(code))
    if definition.type is FieldType.boolean:
        return kind == ("true" if value else "false")
    if definition.type is FieldType.number:
        numeric = kind.in_(("integer", "real"))
        compared = {"=": extracted == value, ">=": extracted >= value, "<=": extracted <= value}
        return and_(numeric, compared[op])
    textual = kind == "text"
    compared = {"=": extracted == value, ">=": extracted >= value, "<=": extracted <= value}
    return and_(textual, compared[op])


_VISIBLE_COLUMNS = (
    CustomFieldDefinition.id,
    CustomFieldDefinition.client_id,
    CustomFieldDefinition.entity,
    CustomFieldDefinition.code,
    CustomFieldDefinition.label,
    CustomFieldDefinition.type,
    CustomFieldDefinition.choices,
    CustomFieldDefinition.required,
    CustomFieldDefinition.position,
    CustomFieldDefinition.is_active,
)


async def visible_definitions(
    reader: Reader, entity: FieldEntity, *, codes: Sequence[str] | None = None
) -> list[Definition]:
    """The fields of ``entity`` the caller may read (their own client's), in order; only those
    with one of ``codes`` when given. One query."""
    stmt = reader.rows(CustomFieldDefinition).where(CustomFieldDefinition.entity == entity)
    if codes is not None:
        stmt = stmt.where(CustomFieldDefinition.code.in_(sorted(set(codes))))
    stmt = stmt.order_by(
        CustomFieldDefinition.position, CustomFieldDefinition.code, CustomFieldDefinition.id
    )
    return [Definition.of(row._mapping) for row in await reader.runner.all(stmt)]


async def filter_rows(
    reader: Reader,
    stmt: AnySelect,
    *,
    entity: FieldEntity,
    filters: Sequence[str] | None,
) -> AnySelect:
    """``stmt`` limited by the ``field`` filters of a list (all must hold), checked against the
    fields the caller reads: 422 for an unknown code, an operator the type does not take or a
    value of the wrong type. No filter, no query; else one for the definitions."""
    if not filters:
        return stmt
    if len(filters) > MAX_FILTERS:
        raise _filter_error(
            gettext("At most {maximum} custom-field filters.", maximum=MAX_FILTERS),
            "too_many_filters",
        )
    parsed = [_parse_filter(raw) for raw in filters]
    found = await visible_definitions(reader, entity, codes=[flt.code for flt in parsed])
    dialect = reader.runner.dialect.name
    model = _CARRIERS[entity]
    for flt in parsed:
        matching = [definition for definition in found if definition.code == flt.code]
        if not matching:
            raise _filter_error(
                gettext("Unknown custom field '{code}'.", code=flt.code), "unknown_custom_field"
            )
        clauses = []
        for definition in matching:  # one per client the caller reads with that code
            value = _filter_value(definition, flt)
            clauses.append(
                and_(
                    model.client_id == definition.client_id,
                    _clause(model.custom_fields, definition, flt.op, value, dialect),
                )
            )
        stmt = stmt.where(or_(*clauses) if len(clauses) > 1 else clauses[0])
    return stmt
