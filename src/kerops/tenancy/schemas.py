"""Schemas of locales, local areas and local members."""

from __future__ import annotations

import enum
import functools
import uuid
import zoneinfo
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)

from kerops.core import sla_clock
from kerops.core.enums import LocalRole, UserRole
from kerops.core.i18n import N_
from kerops.core.schemas import ApiDate, InputModel, ReadModel, no_nul, refuse_null
from kerops.customfields.schemas import CustomFieldValues

DEFAULT_COUNTRY = "CL"
DEFAULT_TIMEZONE = "America/Santiago"

_ISO_COUNTRY_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
"""
#: ISO 3166-1 alpha-2: every officially assigned code.
ISO_COUNTRIES = frozenset(_ISO_COUNTRY_CODES.split())


@functools.cache
def known_timezones() -> frozenset[str]:
    """The IANA timezone names this system knows (read once)."""
    return frozenset(zoneinfo.available_timezones())


def _country(value: str) -> str:
    code = value.upper()
    if code not in ISO_COUNTRIES:
        raise ValueError(N_("must be an ISO 3166-1 alpha-2 country code, e.g. CL"))
    return code


def _timezone(value: str) -> str:
    if value not in known_timezones():
        raise ValueError(N_("must be an IANA timezone name, e.g. America/Santiago"))
    return value


Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(no_nul)]
Text120 = Annotated[str, StringConstraints(max_length=120), AfterValidator(no_nul)]
Address = Annotated[str, StringConstraints(max_length=500), AfterValidator(no_nul)]
Description = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(no_nul)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,31}$")]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
SearchText = Annotated[str, StringConstraints(max_length=200), AfterValidator(no_nul)]


def _sorted_unique(values: list[date]) -> list[date]:
    return sorted(set(values))


def _default_business_hours() -> dict[str, list[list[str]]]:
    return sla_clock.normalise_business_hours(sla_clock.DEFAULT_BUSINESS_HOURS)


#: SLA business hours: weekday ("mon".."sun") → list of [start, end] local times "HH:MM".
BusinessHours = Annotated[
    dict[str, list[list[str]]], AfterValidator(sla_clock.normalise_business_hours)
]
#: A date of the API's range, kept (and dumped) as its ISO text, "2026-09-18".
IsoDate = Annotated[ApiDate, PlainSerializer(date.isoformat, return_type=str)]
ClosedDates = Annotated[list[IsoDate], Field(max_length=400), AfterValidator(_sorted_unique)]


class AreaKind(enum.StrEnum):
    """What an area of a locale is."""

    floor = "floor"
    zone = "zone"
    room = "room"
    other = "other"


def _check_geo_pair(model: Any) -> None:
    given = {"latitude", "longitude"} & model.model_fields_set
    if len(given) == 1 or (model.latitude is None) != (model.longitude is None):
        raise ValueError(N_("give latitude and longitude together, or neither"))


# --- locales -------------------------------------------------------------------------------------


class LocaleCreate(InputModel):
    """A new locale; ``client_id`` is required for platform staff and implied for an owner."""

    client_id: uuid.UUID | None = None
    name: Text200
    code: Code | None = None
    address: Address = ""
    city: Text120 = ""
    region: Text120 = ""
    country: Country = DEFAULT_COUNTRY
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: Timezone = DEFAULT_TIMEZONE
    is_active: bool = True
    business_hours: BusinessHours = Field(default_factory=_default_business_hours)
    closed_dates: ClosedDates = Field(default_factory=list)
    custom_fields: CustomFieldValues = Field(default_factory=dict)

    @model_validator(mode="after")
    def _geo_pair(self) -> Self:
        _check_geo_pair(self)
        return self


class LocaleUpdate(InputModel):
    """Changes to a locale (only the fields given are changed)."""

    name: Text200 | None = None
    code: Code | None = None
    address: Address | None = None
    city: Text120 | None = None
    region: Text120 | None = None
    country: Country | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: Timezone | None = None
    is_active: bool | None = None
    business_hours: BusinessHours | None = None
    closed_dates: ClosedDates | None = None
    custom_fields: CustomFieldValues | None = None

    @field_validator(
        "name",
        "address",
        "city",
        "region",
        "country",
        "timezone",
        "is_active",
        "business_hours",
        "closed_dates",
        "custom_fields",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)

    @model_validator(mode="after")
    def _geo_pair(self) -> Self:
        _check_geo_pair(self)
        return self


class LocaleRead(ReadModel):
    """A locale; times are in UTC (the locale's own timezone is ``timezone``)."""

    id: uuid.UUID
    client_id: uuid.UUID
    name: str
    code: str | None
    address: str
    city: str
    region: str
    country: str
    latitude: float | None
    longitude: float | None
    timezone: str
    is_active: bool
    business_hours: dict[str, list[list[str]]]
    closed_dates: list[date]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


# --- areas ---------------------------------------------------------------------------------------


class AreaCreate(InputModel):
    """A new area of a locale, at the top level or under ``parent_id``."""

    name: Text200
    kind: AreaKind = AreaKind.zone
    code: Code | None = None
    description: Description = ""
    parent_id: uuid.UUID | None = None


class AreaUpdate(InputModel):
    """Changes to an area; ``parent_id`` moves it (``null``: to the top level)."""

    name: Text200 | None = None
    kind: AreaKind | None = None
    code: Code | None = None
    description: Description | None = None
    parent_id: uuid.UUID | None = None

    @field_validator("name", "kind", "description")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class AreaRead(ReadModel):
    """An area of a locale."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    kind: AreaKind
    code: str | None
    description: str
    created_at: datetime
    updated_at: datetime


# --- members -------------------------------------------------------------------------------------


class MemberCreate(InputModel):
    """Give a user of the locale's client a role in the locale."""

    user_id: uuid.UUID
    role: LocalRole


class MemberUpdate(InputModel):
    """Change a member's role."""

    role: LocalRole | None = None

    @field_validator("role")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class MemberUser(ReadModel):
    """The person behind a membership."""

    id: uuid.UUID
    email: str
    full_name: str
    role: UserRole


class MemberRead(ReadModel):
    """A user's role in a locale, with who the user is."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID
    user_id: uuid.UUID
    role: LocalRole
    user: MemberUser
    created_at: datetime
    updated_at: datetime
