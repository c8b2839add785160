"""Schemas of custom-field definitions, and the ``custom_fields`` of an object's body."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from kerops.core.schemas import InputModel, ReadModel, no_nul, refuse_null
from kerops.customfields.models import FieldEntity, FieldType

#: A field's or a choice's code: a stable slug, lower case.
CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN, max_length=64)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(no_nul)]
#: The most choices a ``choice`` field has.
MAX_CHOICES = 200
#: The longest text a ``text`` field holds.
MAX_TEXT = 2000
#: The most values one body sets.
MAX_VALUES = 100


class Choice(InputModel):
    """One option of a ``choice`` field: its stable ``code`` (what is stored and filtered on)
    and the ``label`` people read."""

    code: Code
    label: Label


def slug(text: str) -> str:
    """``text`` as a code: lower case, accents dropped, other characters as ``-``
    (``"Azul Marino"`` → ``"azul-marino"``)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", plain.lower()).strip("-")[:64]


def _choice(value: Any) -> Any:
    # A plain string is a choice labelled with it, its code the string as a slug.
    if isinstance(value, str):
        return {"code": slug(value), "label": value.strip()}
    return value


def _unique_codes(choices: list[Choice]) -> list[Choice]:
    seen: set[str] = set()
    for choice in choices:
        if choice.code in seen:
            raise ValueError(f"choice code '{choice.code}' appears twice")
        seen.add(choice.code)
    return choices


Choices = Annotated[list[Choice], Field(max_length=MAX_CHOICES), AfterValidator(_unique_codes)]


class DefinitionInput(InputModel):
    """What creating and changing a custom field share: choices may be plain strings."""

    @field_validator("choices", mode="before", check_fields=False)
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_choice(item) for item in value]
        return value


class DefinitionCreate(DefinitionInput):
    """A new custom field of the caller's client (platform staff name the client)."""

    client_id: uuid.UUID | None = None
    entity: FieldEntity
    code: Code
    label: Label
    type: FieldType
    choices: Choices = Field(
        default_factory=list,
        description="For a choice field: its options, as {code, label} or plain strings "
        "(labels; their codes are the string in lower case, without accents, `-` for spaces).",
    )
    required: bool = False
    position: Annotated[int, Field(ge=0, le=10_000)] = 0
    is_active: bool = True

    @model_validator(mode="after")
    def _choices_of_type(self) -> Self:
        if self.type is FieldType.choice and not self.choices:
            raise ValueError("a choice field needs at least one choice")
        if self.type is not FieldType.choice and self.choices:
            raise ValueError("only a choice field has choices")
        return self


class DefinitionUpdate(DefinitionInput):
    """Changes to a custom field (its code and entity never change; its type only while no
    object has a value for it)."""

    label: Label | None = None
    type: FieldType | None = None
    choices: Choices | None = None
    required: bool | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None
    is_active: bool | None = None

    @field_validator("label", "type", "choices", "required", "position", "is_active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class DefinitionRead(ReadModel):
    """A custom field; ``label`` and the choices' labels are the client's own text."""

    id: uuid.UUID
    client_id: uuid.UUID
    entity: FieldEntity
    code: str
    label: str
    type: FieldType
    choices: list[dict[str, str]]
    required: bool
    position: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


#: A custom-field value as sent: text, a number, a date (ISO text), a boolean, a choice's code,
#: or null to clear it.
Value = Annotated[str, StringConstraints(max_length=MAX_TEXT)] | int | float | bool | None


def _value_codes(values: dict[str, Any]) -> dict[str, Any]:
    for code in values:
        if not code or len(code) > 64 or "\x00" in code:
            raise ValueError("custom field codes are 1 to 64 characters long")
    return values


#: The ``custom_fields`` of a body: ``{code: value}``, checked against the client's definitions.
CustomFieldValues = Annotated[
    dict[str, Value],
    Field(
        max_length=MAX_VALUES,
        description="Values of the client's custom fields, by code (null clears one).",
    ),
    AfterValidator(_value_codes),
]
