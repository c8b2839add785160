"""Isolation cases of custom fields and of the exports."""

from __future__ import annotations

import uuid
from typing import Any

from kerops.customfields.models import CustomFieldDefinition, FieldEntity, FieldType
from tests.assets.isolation_cases_assets import a_objects as asset_objects
from tests.fixtures.assets import _insert
from tests.fixtures.factories import Runner
from tests.isolation import Case, World

P = "/api/v1"
FIELD = "/custom-fields/{field_id}"


def make_definition(
    run: Runner,
    client_id: uuid.UUID,
    code: str = "color",
    *,
    entity: FieldEntity = FieldEntity.asset,
    type_: FieldType = FieldType.text,
    **values: Any,
) -> uuid.UUID:
    """Insert a custom field of a client (a Core insert: no audit rows)."""
    values.setdefault("label", code.capitalize())
    values.setdefault("choices", [])
    values.setdefault("required", False)
    values.setdefault("position", 0)
    values.setdefault("is_active", True)
    return _insert(
        run,
        CustomFieldDefinition,
        client_id=client_id,
        entity=entity,
        code=code,
        type=type_,
        **values,
    )


def a_field(w: World) -> uuid.UUID:
    """A's text field of assets, ``color`` (made once per world)."""

    def make() -> uuid.UUID:
        assert w.a_owner.client_id is not None
        field_id = make_definition(w.run, w.a_owner.client_id, "color")
        w.remember(field_id)
        return field_id

    result: uuid.UUID = w.once("customfields_a_field", make)
    return result


def _field(w: World) -> dict[str, Any]:
    return {"field_id": a_field(w)}


def _existing(w: World) -> dict[str, Any]:
    a_field(w)
    asset_objects(w)
    return {}


CASES = {
    # A field of A's client (B's owner does not see A's client; the others may not define).
    ("POST", f"{P}/custom-fields"): Case(
        body=lambda w: {
            "client_id": str(w.a_owner.client_id),
            "entity": "asset",
            "code": "intruso",
            "label": "Intruso",
            "type": "text",
        },
    ),
    ("GET", f"{P}/custom-fields"): Case(params=_existing, kind="list"),
    ("GET", f"{P}{FIELD}"): Case(params=_field),
    ("PATCH", f"{P}{FIELD}"): Case(
        params=_field, body=lambda w: {"label": "Hacked", "required": True}
    ),
    ("DELETE", f"{P}{FIELD}"): Case(params=_field),
    # The exports list what the caller reads: none of A's rows, nor A's fields.
    ("GET", f"{P}/exports/assets"): Case(params=_existing, kind="list"),
    ("GET", f"{P}/exports/tickets"): Case(params=_existing, kind="list"),
    ("GET", f"{P}/exports/locales"): Case(params=_existing, kind="list"),
}
