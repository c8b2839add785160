"""Base schemas: inputs refuse unknown fields; outputs read from ORM objects."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ModelWrapValidatorHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_


class InputModel(BaseModel):
    """Base of every request body: unknown fields are refused (422), and so is text that no
    database column can hold (a NUL character, an unpaired surrogate), wherever it is in the
    body: the same answer on SQLite, which would store it, as on PostgreSQL, which cannot."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="wrap")
    @classmethod
    def _storable_text(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if isinstance(data, dict):
            data = _as_given_lengths(cls, data)
        # The fields first: those that check their own text report it at their own location.
        model = handler(data)
        if (where := _unstorable_text(data)) is not None:
            if where:
                raise InvalidValue(
                    N_("text at {where} has a NUL character or is not valid Unicode"), where=where
                )
            raise ValueError(N_("text at the top has a NUL character or is not valid Unicode"))
        return model


class ReadModel(BaseModel):
    """Base of every response body, built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Phone = Annotated[
    str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{6,20}$", strip_whitespace=True)
]


#: Money columns are 64-bit; amounts stay within what JSON clients read exactly (2**53).
MAX_MINOR = 9_007_199_254_740_991
#: An amount in minor units of its currency (CLP has none: 1 is one peso).
MinorUnits = Annotated[int, Field(ge=0, le=MAX_MINOR)]
#: An ISO 4217 currency code (CLP, USD, EUR; the UF is CLF).
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


#: The dates and instants the API accepts, bounds included: far enough back for the install date
#: of an old asset or a licence, far enough ahead for any plan, and far from the calendar's ends,
#: so that shifting a value by a timezone or adding days to it can never leave it.
MIN_API_DATE = date(1900, 1, 1)
MAX_API_DATE = date(2200, 12, 31)
MIN_API_DATETIME = datetime.combine(MIN_API_DATE, time.min, tzinfo=UTC)
MAX_API_DATETIME = datetime.combine(MAX_API_DATE, time.max, tzinfo=UTC)
_MIN_INSTANT_TEXT = "1900-01-01T00:00:00Z"
_MAX_INSTANT_TEXT = "2200-12-31T23:59:59.999999Z"
#: The JSON schema keywords (of JSON Schema's format vocabulary proposals, read by ajv) that
#: state the bounds of a ``date``/``date-time`` string in the OpenAPI document.
FORMAT_MINIMUM, FORMAT_MAXIMUM = "formatMinimum", "formatMaximum"


def _bounded_instant(value: datetime) -> datetime:
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+05:00 is before the calendar's first instant
        in_utc = None
    if in_utc is None or not MIN_API_DATETIME <= in_utc <= MAX_API_DATETIME:
        raise PydanticCustomError(
            "datetime_out_of_range",
            "must be between {minimum} and {maximum}",
            {"minimum": _MIN_INSTANT_TEXT, "maximum": _MAX_INSTANT_TEXT},
        )
    return value


def _bounded_date(value: date) -> date:
    if not MIN_API_DATE <= value <= MAX_API_DATE:
        raise PydanticCustomError(
            "date_out_of_range",
            "must be between {minimum} and {maximum}",
            {"minimum": MIN_API_DATE.isoformat(), "maximum": MAX_API_DATE.isoformat()},
        )
    return value


@dataclass(frozen=True)
class _FormatBounds:
    """Writes a date or date-time type's bounds into its JSON schema."""

    minimum: str
    maximum: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema[FORMAT_MINIMUM] = self.minimum
        schema[FORMAT_MAXIMUM] = self.maximum
        return schema


#: Every instant the API accepts (query, path, form or body): timezone-aware (a naive one is a
#: 422), between 1900-01-01T00:00:00Z and 2200-12-31T23:59:59.999999Z (else 422
#: ``datetime_out_of_range``). The value keeps the offset it was given.
ApiDateTime = Annotated[
    AwareDatetime,
    AfterValidator(_bounded_instant),
    _FormatBounds(_MIN_INSTANT_TEXT, _MAX_INSTANT_TEXT),
]
#: The JSON schema of an ``ApiDateTime``, for a body validated by hand (IoT readings).
API_DATETIME_JSON_SCHEMA: dict[str, str] = {
    "type": "string",
    "format": "date-time",
    FORMAT_MINIMUM: _MIN_INSTANT_TEXT,
    FORMAT_MAXIMUM: _MAX_INSTANT_TEXT,
}
#: Every calendar date the API accepts: 1900-01-01 to 2200-12-31 (else 422 ``date_out_of_range``).
ApiDate = Annotated[
    date,
    AfterValidator(_bounded_date),
    _FormatBounds(MIN_API_DATE.isoformat(), MAX_API_DATE.isoformat()),
]


@functools.cache
def _max_lengths(model: type[BaseModel]) -> dict[str, int]:
    """The ``maxLength`` of each text field of ``model``'s JSON schema (by alias), or of its items
    for a list of texts."""
    properties = model.model_json_schema().get("properties", {})
    found: dict[str, int] = {}
    for name, schema in properties.items():
        for branch in [schema, *schema.get("anyOf", [])]:
            branch = branch.get("items", branch) if branch.get("type") == "array" else branch
            if branch.get("type") == "string" and "maxLength" in branch:
                found[name] = branch["maxLength"]
    return found


def _as_given_lengths(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each text longer than its field's ``maxLength`` as sent, before the
    whitespace is stripped, replaced by text as long that is no whitespace, so the field refuses
    it with its own ``string_too_long``: the OpenAPI document's limit holds for what is sent."""
    changed: dict[str, Any] | None = None
    for name, limit in _max_lengths(model).items():
        value = data.get(name)
        if isinstance(value, str) and len(value) > limit:
            changed = changed if changed is not None else dict(data)
            changed[name] = "x" * len(value)
        elif isinstance(value, list) and any(
            isinstance(item, str) and len(item) > limit for item in value
        ):
            changed = changed if changed is not None else dict(data)
            changed[name] = [
                "x" * len(item) if isinstance(item, str) and len(item) > limit else item
                for item in value
            ]
    return data if changed is None else changed


def _unstorable_text(data: Any, path: str = "") -> str | None:
    """The dotted path of the first string (value or key) in ``data`` with a NUL character or an
    unpaired surrogate (which no UTF-8 database text can hold), or None."""
    if isinstance(data, str):
        if "\x00" in data or (not data.isascii() and not _encodes(data)):
            return path
        return None
    if isinstance(data, dict):
        for key, value in data.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _unstorable_text(key) is not None:
                return inner
            if (found := _unstorable_text(value, inner)) is not None:
                return found
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            if (
                found := _unstorable_text(value, f"{path}.{index}" if path else str(index))
            ) is not None:
                return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def no_nul(value: str) -> str:
    """Refuse NUL characters (PostgreSQL cannot store them in text)."""
    if "\x00" in value:
        raise ValueError(N_("must not contain NUL characters"))
    return value


def refuse_null(value: Any) -> Any:
    """For updates: an omitted field keeps its value, an explicit ``null`` is refused."""
    if value is None:
        raise ValueError(N_("may be left out but not null"))
    return value
