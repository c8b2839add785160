"""Schemas of the auth endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

from kerops.core.schemas import InputModel, Name


class RegisterRequest(InputModel):
    """Sign-up of a new client account (its owner) on the free plan."""

    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=256)]
    full_name: Name


class LoginRequest(InputModel):
    """Email and password."""

    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RefreshRequest(InputModel):
    """A refresh token to rotate."""

    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]


class LogoutRequest(InputModel):
    """Optionally the refresh token of the session to end (else the caller's current session)."""

    refresh_token: Annotated[str | None, Field(max_length=256)] = None


class TokenPair(BaseModel):
    """Tokens of a login session."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
