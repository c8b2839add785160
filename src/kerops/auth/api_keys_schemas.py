"""Schemas of the API-key endpoints (the secret appears only in the answer to a create)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from kerops.core.i18n import N_
from kerops.core.schemas import ApiDateTime, InputModel, ReadModel
from kerops.core.types import utcnow

ApiKeyScope = Literal["read", "write", "admin"]
ApiKeyName = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]


class ApiKeyCreate(InputModel):
    """A new key: a name, its scopes and an optional expiry."""

    name: ApiKeyName
    scopes: Annotated[list[ApiKeyScope], Field(min_length=1, max_length=3)]
    expires_at: ApiDateTime | None = None

    @field_validator("scopes")
    @classmethod
    def _unique_scopes(cls, value: list[ApiKeyScope]) -> list[ApiKeyScope]:
        return sorted(set(value))  # type: ignore[return-value]

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= utcnow():
            raise ValueError(N_("must be in the future"))
        return value


class ApiKeyRead(ReadModel):
    """A key as listed: its visible prefix, never the secret or its hash."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyRead):
    """A key just created, with its full secret: shown this once and never again."""

    key: str
