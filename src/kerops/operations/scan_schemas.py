"""Schemas of the public scan page of an asset's QR code: what it shows, a fault report."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic.networks import validate_email

from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, ReadModel, no_nul
from kerops.tenancy.schemas import Text200


class ScanRead(ReadModel):
    """What the public scan page shows: nothing beyond these three fields."""

    asset_name: str
    locale_name: str
    open_tickets: int


_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{5,30}$")


def _email_or_phone(value: str) -> str:
    if "@" in value:
        try:
            validate_email(value)
        except ValueError as exc:
            raise ValueError(N_("must be an email address or a phone number")) from exc
        return value
    if not _PHONE.match(value) or sum(c.isdigit() for c in value) < 6:
        raise ValueError(N_("must be an email address or a phone number"))
    return value


ReporterContact = Annotated[
    str,
    StringConstraints(min_length=3, max_length=200, strip_whitespace=True),
    AfterValidator(_email_or_phone),
]


class ScanReportCreate(InputModel):
    """A fault reported by anyone on site from an asset's public scan page (no login)."""

    reporter_name: Text200
    reporter_contact: ReporterContact = Field(description="An email address or a phone number")
    description: Annotated[
        str, StringConstraints(min_length=1, max_length=5000), AfterValidator(no_nul)
    ]


class ScanReportRead(ReadModel):
    """The answer to a fault report: the ticket's display code and a message, nothing else."""

    ticket_number_code: str
    message: str
