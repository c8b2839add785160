"""Schemas of the one-time-code login endpoints."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, EmailStr, StringConstraints, model_validator

from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, Phone

OtpCodeText = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,12}$", strip_whitespace=True)]


class OtpRequest(InputModel):
    """Where to send a login code: an account's email or its phone (exactly one)."""

    email: EmailStr | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _exactly_one_destination(self) -> Self:
        if (self.email is None) == (self.phone is None):
            raise ValueError(N_("give exactly one of 'email' or 'phone'"))
        return self


class OtpVerify(OtpRequest):
    """The destination a code was sent to, and the code."""

    code: OtpCodeText


class OtpAccepted(BaseModel):
    """The same answer whether or not an account exists (nothing is revealed)."""

    detail: str
