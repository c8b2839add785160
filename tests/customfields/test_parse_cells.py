"""``parse_cells``: spreadsheet cells of custom fields as typed values (for imports)."""

from __future__ import annotations

import uuid

import pytest

from kerops.core.i18n import reset_language, set_language
from kerops.customfields.models import FieldEntity, FieldType
from kerops.customfields.service import Definition, header_code, parse_cells


def _definition(code: str, type_: FieldType, **extra: object) -> Definition:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "client_id": uuid.uuid4(),
        "entity": FieldEntity.asset,
        "code": code,
        "label": code.capitalize(),
        "type": type_,
        "choices": (),
        "required": False,
        "position": 0,
        "is_active": True,
        **extra,
    }
    return Definition(**values)  # type: ignore[arg-type]


FIELDS = [
    _definition("note", FieldType.text),
    _definition("capacity", FieldType.number),
    _definition("since", FieldType.date),
    _definition("outdoor", FieldType.boolean),
    _definition(
        "color", FieldType.choice, choices=(("rojo", "Rojo"), ("azul-marino", "Azul Marino"))
    ),
    _definition("serie", FieldType.text, required=True),
]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"note": "  Sala norte "}, {"note": "Sala norte"}),
        ({"capacity": "1.234,5"}, {"capacity": 1234.5}),
        ({"capacity": "1,234.5"}, {"capacity": 1234.5}),
        ({"capacity": "12,5"}, {"capacity": 12.5}),
        ({"capacity": "10"}, {"capacity": 10}),
        ({"capacity": "10.0"}, {"capacity": 10}),
        ({"since": "2026-03-02"}, {"since": "2026-03-02"}),
        ({"since": "2026-03-02 10:00:00"}, {"since": "2026-03-02"}),
        ({"since": "02-03-2026"}, {"since": "2026-03-02"}),
        ({"since": "02/03/2026"}, {"since": "2026-03-02"}),
        ({"outdoor": "Sí"}, {"outdoor": True}),
        ({"outdoor": "x"}, {"outdoor": True}),
        ({"outdoor": "no"}, {"outdoor": False}),
        ({"outdoor": "FALSE"}, {"outdoor": False}),
        ({"color": "azul marino"}, {"color": "azul-marino"}),
        ({"color": "ROJO"}, {"color": "rojo"}),
        ({"note": "", "capacity": "  "}, {}),
    ],
)
def test_cells_become_typed_values(cells: dict[str, str], expected: dict[str, object]) -> None:
    values, errors = parse_cells(FIELDS, cells)
    assert errors == {}
    assert values == expected


def test_bad_cells_get_a_translated_message_per_code() -> None:
    cells = {
        "capacity": "diez",
        "since": "31-02-2026",
        "outdoor": "tal vez",
        "color": "verde",
        "otro": "x",
    }
    token = set_language("en")
    try:
        values, english = parse_cells(FIELDS, cells)
    finally:
        reset_language(token)
    token = set_language("es-CL")
    try:
        _, spanish = parse_cells(FIELDS, cells)
    finally:
        reset_language(token)
    assert values == {}
    assert set(english) == set(spanish) == set(cells)
    assert english["capacity"] == "Must be a number."
    assert spanish["capacity"] == "Debe ser un número."
    assert english["otro"] == "Unknown custom field 'otro'."
    assert spanish["otro"] == "Campo personalizado desconocido: 'otro'."
    assert "rojo" in english["color"] and "azul-marino" in english["color"]


def test_required_fields_are_checked_when_creating() -> None:
    assert parse_cells(FIELDS, {"note": "x"}) == ({"note": "x"}, {})
    values, errors = parse_cells(FIELDS, {"note": "x", "serie": " "}, creating=True)
    assert values == {"note": "x"} and set(errors) == {"serie"}
    archived = [_definition("serie", FieldType.text, required=True, is_active=False)]
    assert parse_cells(archived, {}, creating=True) == ({}, {})


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("field:color", "color"),
        ("campo:color", "color"),
        ("Campo: color", "color"),
        ("Color (field:color)", "color"),
        ("Capacidad (campo:capacity)", "capacity"),
        ("Color", None),
        ("field:", None),
        ("Nombre", None),
    ],
)
def test_headers_name_their_field(header: str, code: str | None) -> None:
    assert header_code(header) == code
