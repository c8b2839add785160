"""Custom fields: the fields a client defines on its assets, tickets and locales, and the column
their values are kept in on each object."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.types import StrEnum

#: The JSON column of custom-field values: JSONB on PostgreSQL (containment ``@>`` served by a
#: GIN index), JSON text on SQLite.
VALUES_TYPE = JSON().with_variant(JSONB(), "postgresql")


class FieldEntity(enum.StrEnum):
    """The kind of object a custom field is defined on."""

    asset = "asset"
    ticket = "ticket"
    locale = "locale"


class FieldType(enum.StrEnum):
    """What a custom field holds."""

    text = "text"
    number = "number"
    date = "date"
    boolean = "boolean"
    choice = "choice"


def values_column() -> Mapped[dict[str, Any]]:
    """The ``custom_fields`` column of a model that carries custom-field values
    (``{code: value}``; a field without a value has no key)."""
    return mapped_column(VALUES_TYPE, default=dict, server_default=text("'{}'"))


def values_index(table: str) -> Index:
    """The GIN index of a ``custom_fields`` column (PostgreSQL only: ``jsonb_path_ops`` serves
    the ``@>`` of the list filters)."""
    return Index(
        f"ix_{table}_custom_fields",
        "custom_fields",
        postgresql_using="gin",
        postgresql_ops={"custom_fields": "jsonb_path_ops"},
    ).ddl_if(dialect="postgresql")


class CustomFieldDefinition(IdMixin, TimestampMixin, Base):
    """A field a client adds to one kind of object: its stable ``code``, the client's own
    ``label``, its type, the choices of a ``choice`` field, whether it is required and where it
    is shown. An archived field (``is_active`` false) keeps its values but is no longer asked
    for."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (
        UniqueConstraint("client_id", "entity", "code"),
        Index(
            "ix_custom_field_definitions_client_entity_position", "client_id", "entity", "position"
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    entity: Mapped[FieldEntity] = mapped_column(StrEnum(FieldEntity))
    code: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[FieldType] = mapped_column(StrEnum(FieldType))
    #: For a ``choice`` field: ``[{"code": ..., "label": ...}, ...]`` in display order.
    choices: Mapped[list[dict[str, str]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
