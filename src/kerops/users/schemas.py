"""Schemas of users and vendors."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints, field_validator

from kerops.core.enums import ClientRole, LocalRole, SubscriptionPlan, UserRole
from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, Name, Phone, ReadModel, ShortText, refuse_null
from kerops.users.rut import normalise_rut

Language = Literal["es-CL", "en"]
#: The trades a technician may have (``TechnicianSkill``).
Skill = Literal["electricity", "hvac", "plumbing", "general", "iot_install"]


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _known_timezone(value: str) -> str:
    if value not in _timezones():
        raise InvalidValue(
            N_("unknown timezone '{value}' (use an IANA name such as America/Santiago)"),
            value=value,
        )
    return value


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_timezone)]
Rut = Annotated[
    str,
    StringConstraints(min_length=2, max_length=16),
    AfterValidator(normalise_rut),
    Field(description="Chilean tax id with its check digit, e.g. 76.086.428-5"),
]
Skills = Annotated[list[Skill], Field(max_length=5), AfterValidator(_unique)]


class UserRead(ReadModel):
    """A user as others may see them (never the password hash)."""

    id: uuid.UUID
    email: str
    phone: str | None
    full_name: str
    role: UserRole
    client_id: uuid.UUID | None
    client_role: ClientRole | None
    vendor_id: uuid.UUID | None
    skills: list[str]
    is_active: bool
    language: str | None = Field(
        description="The person's own language; null: their browser's, else the client's default"
    )
    timezone: str
    email_verified_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserUpdate(InputModel):
    """Profile fields (anyone, on their own account) and the role (managers, on others)."""

    full_name: Name | None = None
    phone: Phone | None = Field(default=None, description="Unique; null clears it")
    language: Language | None = Field(
        default=None,
        description="The language the person is answered in; null: their browser's, else the "
        "client's default",
    )
    timezone: Timezone | None = None
    skills: Skills | None = None
    role: UserRole | None = None
    client_role: ClientRole | None = Field(
        default=None,
        description="A member's client-wide role (owner and admins grant it); null revokes it",
    )

    _not_null = field_validator("full_name", "timezone", "skills", "role")(refuse_null)


class UserInvite(InputModel):
    """Invite a person by email; they choose their password when accepting."""

    email: EmailStr
    full_name: Name
    role: UserRole
    client_id: uuid.UUID | None = Field(
        default=None, description="Staff: the client to invite into (owners: their own)"
    )
    vendor_id: uuid.UUID | None = Field(
        default=None, description="The vendor to invite into (vendor admins: their own)"
    )
    locale_id: uuid.UUID | None = Field(
        default=None, description="Optionally make the person a member of this locale"
    )
    local_role: LocalRole | None = Field(
        default=None, description="Their role in that locale (default: viewer)"
    )
    client_role: ClientRole | None = Field(
        default=None, description="A client-wide role (admin, manager or viewer) for a member"
    )


class InvitationAccept(InputModel):
    """The invitation token from the link, the chosen password and optionally a corrected name."""

    token: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    full_name: Name | None = None


class VendorCreate(InputModel):
    """A contractor company: platform-wide (staff) or private to one client."""

    name: Name
    rut: Rut
    client_id: uuid.UUID | None = Field(
        default=None, description="The client owning this private vendor (staff); owners: theirs"
    )
    contact_name: Annotated[str, StringConstraints(max_length=200)] = ""
    contact_email: EmailStr | None = None
    contact_phone: Phone | None = None
    address: ShortText = ""
    is_active: bool = True


class VendorUpdate(InputModel):
    """Fields of a vendor to change; the owning client never changes."""

    name: Name | None = None
    rut: Rut | None = None
    contact_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    contact_email: EmailStr | None = None
    contact_phone: Phone | None = None
    address: ShortText | None = None
    is_active: bool | None = None

    _not_null = field_validator("name", "rut", "contact_name", "address", "is_active")(refuse_null)


class VendorRead(ReadModel):
    """A vendor."""

    id: uuid.UUID
    client_id: uuid.UUID | None
    name: str
    rut: str
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    address: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ClientRead(ReadModel):
    """A client organisation: its id is the ``client_id`` of everything it holds."""

    id: uuid.UUID
    name: str
    owner_user_id: uuid.UUID
    plan: SubscriptionPlan
    language: str = Field(
        description="The language its people are answered in when they chose none and their "
        "browser names neither Spanish nor English"
    )
    created_at: datetime
    updated_at: datetime


class ClientUpdate(InputModel):
    """A client's settings (its owner and admins)."""

    language: Language | None = Field(
        default=None,
        description="The language its people are answered in when they chose none and their "
        "browser names neither Spanish nor English",
    )

    _not_null = field_validator("language")(refuse_null)


class OwnershipTransfer(InputModel):
    """Whom the owner hands the client to: one of its active admins."""

    user_id: uuid.UUID = Field(description="An active admin of the client (client_role admin)")
