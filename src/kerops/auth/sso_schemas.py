"""Schemas of identity providers (OIDC single sign-on); the client secret is write-only."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from kerops.auth.models import IdentityProvider
from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_
from kerops.core.routing import API_PREFIX
from kerops.core.schemas import InputModel, ReadModel, refuse_null

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
_SCOPE_TOKEN_RE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 scope-token characters


def sso_path(slug: str, step: str) -> str:
    """The path of a provider's ``login`` or ``callback`` route."""
    return f"{API_PREFIX}/auth/sso/{slug}/{step}"


def _issuer_shape(value: str) -> str:
    """An absolute http(s) URL without query, fragment or credentials (scheme policy: service)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(N_("must be an absolute https URL"))
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(N_("must not have a query or a fragment"))
    if parts.username is not None or parts.password is not None:
        raise ValueError(N_("must not contain credentials"))
    try:
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError as exc:
        raise ValueError(N_("has an invalid port")) from exc
    return value


def _scopes_shape(value: str) -> str:
    """Space-separated OAuth scopes, normalised, that must request ``openid`` and ``email``."""
    tokens: list[str] = []
    for token in value.split():
        if not _SCOPE_TOKEN_RE.match(token):
            raise InvalidValue(N_("'{token}' is not a valid scope"), token=token)
        if token not in tokens:
            tokens.append(token)
    missing = [s for s in ("openid", "email") if s not in tokens]
    if missing:
        raise InvalidValue(N_("must include {scopes}"), scopes=" and ".join(missing))
    return " ".join(tokens)


def _domains_shape(value: list[str]) -> list[str]:
    """Lower-cased, valid, de-duplicated domain names."""
    domains: list[str] = []
    for raw in value:
        domain = raw.strip().lower().rstrip(".")
        if not _DOMAIN_RE.match(domain):
            raise InvalidValue(N_("'{raw}' is not a valid domain name"), raw=raw)
        if domain not in domains:
            domains.append(domain)
    return domains


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
ProviderName = Annotated[
    str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)
]
Issuer = Annotated[
    str,
    StringConstraints(min_length=8, max_length=500, strip_whitespace=True),
    AfterValidator(_issuer_shape),
]
OidcClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)
]
ClientSecret = Annotated[SecretStr, Field(min_length=1, max_length=512)]
Scopes = Annotated[str, StringConstraints(max_length=255), AfterValidator(_scopes_shape)]
AllowedDomains = Annotated[
    list[Annotated[str, StringConstraints(max_length=253)]],
    Field(max_length=50),
    AfterValidator(_domains_shape),
]


class IdentityProviderCreate(InputModel):
    """A new OIDC provider: of the caller's client or vendor (staff: of any, or the platform)."""

    client_id: uuid.UUID | None = Field(
        default=None, description="Owning client (staff; a client owner's own client by default)"
    )
    vendor_id: uuid.UUID | None = Field(
        default=None, description="Owning vendor (staff; a vendor admin's own vendor by default)"
    )
    slug: Slug = Field(description="Used in the login URL: /api/v1/auth/sso/{slug}/login")
    name: ProviderName
    issuer: Issuer = Field(description="The provider's issuer URL (https)")
    oidc_client_id: OidcClientId
    client_secret: ClientSecret
    scopes: Scopes = "openid email profile"
    allowed_domains: AllowedDomains = Field(
        default_factory=list, description="Email domains allowed to sign in; empty: any"
    )
    auto_provision: bool = Field(
        default=False, description="Create unknown users on their first sign-in"
    )
    is_active: bool = True


class IdentityProviderUpdate(InputModel):
    """Changes to a provider (not its owner); ``client_secret`` replaces the stored one."""

    slug: Slug | None = None
    name: ProviderName | None = None
    issuer: Issuer | None = None
    oidc_client_id: OidcClientId | None = None
    client_secret: ClientSecret | None = None
    scopes: Scopes | None = None
    allowed_domains: AllowedDomains | None = None
    auto_provision: bool | None = None
    is_active: bool | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)  # no column of a provider is nullable


class IdentityProviderRead(ReadModel):
    """A provider as its administrators see it: never the client secret."""

    id: uuid.UUID
    client_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    slug: str
    name: str
    issuer: str
    oidc_client_id: str
    has_client_secret: bool
    scopes: str
    allowed_domains: list[str]
    auto_provision: bool
    is_active: bool
    login_path: str = Field(description="Where users start signing in")
    callback_path: str = Field(description="The redirect URI path to register at the provider")
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_model(cls, data: Any) -> Any:
        if isinstance(data, IdentityProvider):
            return {
                **{name: getattr(data, name) for name in _COPIED},
                "has_client_secret": bool(data.client_secret_encrypted),
                "login_path": sso_path(data.slug, "login"),
                "callback_path": sso_path(data.slug, "callback"),
            }
        return data

    @field_validator("allowed_domains", mode="before")
    @classmethod
    def _copy_domains(cls, value: Any) -> Any:
        return list(value or [])


_COPIED = (
    "id",
    "client_id",
    "vendor_id",
    "slug",
    "name",
    "issuer",
    "oidc_client_id",
    "scopes",
    "allowed_domains",
    "auto_provision",
    "is_active",
    "created_at",
    "updated_at",
)
