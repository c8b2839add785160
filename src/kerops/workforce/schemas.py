"""Schemas of technicians' shifts, availability and certifications."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    StringConstraints,
    field_validator,
    model_validator,
)

from kerops.core.enums import ShiftType
from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_
from kerops.core.schemas import ApiDate, ApiDateTime, InputModel, ReadModel, refuse_null

MAX_SHIFT = timedelta(days=31)
MAX_AVAILABILITY_WINDOW = timedelta(days=62)
CERT_TYPE_PATTERN = r"^[a-z0-9_]{2,64}$"


def _in_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(N_("must not contain NUL characters"))
    return value


#: An instant of the API's range (a naive one is refused), normalised to UTC.
Instant = Annotated[ApiDateTime, AfterValidator(_in_utc)]
Day = ApiDate
Notes = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
CertType = Annotated[str, StringConstraints(pattern=CERT_TYPE_PATTERN)]
CertNumber = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_nul)]
Issuer = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]


def shift_span_problem(starts_at: datetime, ends_at: datetime) -> InvalidValue | None:
    """Why a shift's span is not acceptable (translated where shown), or None."""
    if ends_at <= starts_at:
        return InvalidValue(N_("ends_at must be after starts_at"))
    if ends_at - starts_at > MAX_SHIFT:
        return InvalidValue(N_("a shift lasts at most {days} days"), days=MAX_SHIFT.days)
    return None


# --- shifts --------------------------------------------------------------------------------------


class ShiftCreate(InputModel):
    """A new shift of a technician the caller manages."""

    technician_id: uuid.UUID
    shift_type: ShiftType = ShiftType.working
    starts_at: Instant
    ends_at: Instant
    notes: Notes = ""

    @model_validator(mode="after")
    def _span(self) -> Self:
        problem = shift_span_problem(self.starts_at, self.ends_at)
        if problem:
            raise problem
        return self


class ShiftUpdate(InputModel):
    """Changes to a shift (only the fields given are changed; the technician stays)."""

    shift_type: ShiftType | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    notes: Notes | None = None

    @field_validator("shift_type", "starts_at", "ends_at", "notes")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ShiftRead(ReadModel):
    """A shift; times are in UTC."""

    id: uuid.UUID
    technician_id: uuid.UUID
    client_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    shift_type: ShiftType
    starts_at: datetime
    ends_at: datetime
    notes: str
    created_at: datetime
    updated_at: datetime


class Interval(ReadModel):
    """A half-open span of time [starts_at, ends_at)."""

    starts_at: datetime
    ends_at: datetime


class Availability(ReadModel):
    """A technician's time within a window: merged, sorted intervals clipped to the window."""

    technician_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    working: list[Interval]
    unavailable: list[Interval]
    available: list[Interval]


# --- certifications ------------------------------------------------------------------------------


def _check_dates(issued: date | None, expires: date | None) -> None:
    if issued is not None and expires is not None and expires < issued:
        raise ValueError(N_("expires_date must not be before issued_date"))


class CertificationCreate(InputModel):
    """A new licence of a technician (recorded unverified)."""

    technician_id: uuid.UUID
    cert_type: CertType
    number: CertNumber
    issuer: Issuer = ""
    issued_date: Day | None = None
    expires_date: Day

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _check_dates(self.issued_date, self.expires_date)
        return self


class CertificationUpdate(InputModel):
    """Changes to a licence; changing what was verified clears the verification."""

    cert_type: CertType | None = None
    number: CertNumber | None = None
    issuer: Issuer | None = None
    issued_date: Day | None = None
    expires_date: Day | None = None

    @field_validator("cert_type", "number", "issuer", "expires_date")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class CertificationRead(ReadModel):
    """A technician's licence."""

    id: uuid.UUID
    technician_id: uuid.UUID
    client_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    cert_type: str
    number: str
    issuer: str
    issued_date: date | None
    expires_date: date | None
    document_key: str | None
    verified_by_id: uuid.UUID | None
    verified_at: datetime | None
    created_at: datetime
    updated_at: datetime
