"""Single sign-on with OIDC: identity provider administration and the authorization-code flow.

A provider belongs to one client, one vendor, or the platform (neither). Its users sign in at
``/auth/sso/{slug}/login``; authlib runs the code flow (state, nonce and PKCE kept in the signed
session cookie) and validates the ID token; :func:`sign_in` then decides who the person is.
The provider's HTTP calls are made outside any database transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse

from kerops.auth.models import IdentityProvider
from kerops.auth.sso_schemas import IdentityProviderCreate, IdentityProviderUpdate
from kerops.config import Settings
from kerops.core import netguard
from kerops.core.access import ensure_still_in_scope, get_scoped, scoped
from kerops.core.db import flush_or_conflict
from kerops.core.enums import UserRole
from kerops.core.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    field_error,
)
from kerops.core.i18n import N_, gettext
from kerops.core.limits import enforce_plan_limit
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.security import TokenError
from kerops.core.state import AppState
from kerops.core.types import utcnow
from kerops.users import clients
from kerops.users import service as user_service
from kerops.users.models import User, Vendor

try:  # the HTTP client authlib itself uses: httpx2 when installed, else httpx
    import httpx2 as http_client
except ImportError:  # pragma: no cover - depends on the installed packages
    import httpx as http_client  # type: ignore[no-redef]

HTTP_TIMEOUT_SECONDS = 10.0
IDENTITY_PROVIDER_SORTS = {
    "created_at": IdentityProvider.created_at,
    "name": IdentityProvider.name,
    "slug": IdentityProvider.slug,
    "id": IdentityProvider.id,
}
_EMAIL = TypeAdapter(EmailStr)


class SsoFailed(AppError):
    """The sign-in with the identity provider did not complete (bad state, code or token)."""

    status_code = 400
    code = "sso_failed"
    title = N_("Single sign-on failed")


class SsoProviderUnavailable(AppError):
    """The identity provider could not be reached or answered something unusable."""

    status_code = 502
    code = "sso_provider_unavailable"
    title = N_("Identity provider unavailable")


# --- administration -------------------------------------------------------------------------


def _ensure_admin(principal: Principal) -> None:
    if principal.is_staff or principal.is_client_admin:
        return
    if principal.role is UserRole.vendor_admin and principal.vendor_id is not None:
        return
    raise Forbidden(
        gettext("Only platform staff, client owners and vendor admins manage identity providers.")
    )


def check_issuer(issuer: str, settings: Settings) -> None:
    """Refuse a plain-http or internal-network issuer unless ``sso_allow_insecure_http`` is set."""
    if settings.sso_allow_insecure_http:
        return
    parts = urlsplit(issuer)
    if parts.scheme != "https":
        raise Unprocessable(
            gettext("The issuer must be an https URL."),
            errors=[field_error(("body", "issuer"), gettext("must be an https URL"), "url_scheme")],
        )
    if netguard.is_internal_host(parts.hostname or ""):
        raise Unprocessable(
            gettext(
                "The issuer must be a public address, not a loopback, private or link-local one."
            ),
            errors=[
                field_error(("body", "issuer"), gettext("must be a public address"), "url_host")
            ],
        )


async def _refuse_internal_resolution(issuer: str, settings: Settings) -> None:
    """Before the server fetches an issuer's documents, refuse names resolving inside (SSRF)."""
    if settings.sso_allow_insecure_http:
        return
    host = urlsplit(issuer).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443)
    except OSError:
        return  # unresolvable: the fetch itself fails and answers 502
    if any(netguard.is_internal_address(str(info[4][0])) for info in infos):
        raise SsoProviderUnavailable(
            gettext("The provider's issuer resolves to an internal address."),
            code="sso_provider_misconfigured",
        )


def _platform_provider_cannot_provision(
    client_id: uuid.UUID | None, vendor_id: uuid.UUID | None, auto_provision: bool
) -> None:
    if auto_provision and client_id is None and vendor_id is None:
        raise Unprocessable(
            gettext(
                "A platform provider cannot create users: they have no client or vendor to join."
            ),
            errors=[
                field_error(
                    ("body", "auto_provision"),
                    gettext("not allowed for a platform provider"),
                    "value_error",
                )
            ],
        )


async def _ensure_slug_free(
    session: AsyncSession, slug: str, *, exclude_id: uuid.UUID | None = None
) -> None:
    # Checked across every owner (slugs are global); only a yes/no leaves this function.
    clause = IdentityProvider.slug == slug
    if exclude_id is not None:
        clause = clause & (IdentityProvider.id != exclude_id)
    if await session.scalar(select(exists().where(clause))):
        raise Conflict(
            gettext("The slug '{slug}' is already in use.", slug=slug), code="slug_taken"
        )


async def _resolve_owner(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID | None,
    vendor_id: uuid.UUID | None,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The (client_id, vendor_id) a new provider belongs to; foreign ids are a 404."""
    if principal.is_staff:
        if client_id is not None and vendor_id is not None:
            raise Unprocessable(
                gettext("A provider belongs to a client or to a vendor, not to both."),
                errors=[
                    field_error(
                        ("body", "vendor_id"), gettext("give client_id or vendor_id, not both")
                    )
                ],
            )
        if client_id is not None:
            await clients.named_client(session, principal, client_id)
        if vendor_id is not None:
            await get_scoped(session, Vendor, vendor_id, principal)
        return client_id, vendor_id
    if principal.is_client_admin:
        if client_id is not None and client_id != principal.client_id:
            raise NotFound(gettext("client not found"))
        if vendor_id is not None:
            await get_scoped(session, Vendor, vendor_id, principal, "write")
            raise Unprocessable(
                gettext("A client owner configures providers of their own client only."),
                errors=[
                    field_error(("body", "vendor_id"), gettext("not allowed for a client owner"))
                ],
            )
        return principal.client_id, None
    # A vendor admin (checked by _ensure_admin).
    if vendor_id is not None and vendor_id != principal.vendor_id:
        raise NotFound(gettext("vendor not found"))
    if client_id is not None:
        if client_id != principal.client_id:
            raise NotFound(gettext("client not found"))
        raise Unprocessable(
            gettext("A vendor admin configures providers of their own vendor only."),
            errors=[field_error(("body", "client_id"), gettext("not allowed for a vendor admin"))],
        )
    return None, principal.vendor_id


async def create_provider(
    session: AsyncSession, state: AppState, principal: Principal, *, data: IdentityProviderCreate
) -> IdentityProvider:
    """Configure a new OIDC provider; the client secret is stored encrypted."""
    _ensure_admin(principal)
    client_id, vendor_id = await _resolve_owner(session, principal, data.client_id, data.vendor_id)
    check_issuer(data.issuer, state.settings)
    _platform_provider_cannot_provision(client_id, vendor_id, data.auto_provision)
    await _ensure_slug_free(session, data.slug)
    provider = IdentityProvider(
        client_id=client_id,
        vendor_id=vendor_id,
        slug=data.slug,
        name=data.name,
        issuer=data.issuer,
        oidc_client_id=data.oidc_client_id,
        client_secret_encrypted=state.security.encrypt(data.client_secret.get_secret_value()),
        scopes=data.scopes,
        allowed_domains=data.allowed_domains,
        auto_provision=data.auto_provision,
        is_active=data.is_active,
    )
    session.add(provider)
    await flush_or_conflict(
        session, gettext("The slug '{slug}' is already in use.", slug=data.slug), code="slug_taken"
    )
    await ensure_still_in_scope(session, provider, principal)
    return provider


async def list_providers(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    is_active: bool | None = None,
    client_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
) -> tuple[Sequence[IdentityProvider], str | None]:
    """One page of the providers the caller administers."""
    _ensure_admin(principal)
    stmt: Select[Any] = scoped(select(IdentityProvider), IdentityProvider, principal)
    if is_active is not None:
        stmt = stmt.where(IdentityProvider.is_active.is_(is_active))
    if client_id is not None:
        stmt = stmt.where(IdentityProvider.client_id == client_id)
    if vendor_id is not None:
        stmt = stmt.where(IdentityProvider.vendor_id == vendor_id)
    return await paginate(
        session, stmt, params, sort_fields=IDENTITY_PROVIDER_SORTS, id_column=IdentityProvider.id
    )


async def get_provider(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> IdentityProvider:
    """One provider the caller administers, or 404."""
    _ensure_admin(principal)
    return await get_scoped(session, IdentityProvider, provider_id, principal)


async def update_provider(
    session: AsyncSession,
    state: AppState,
    principal: Principal,
    provider_id: uuid.UUID,
    *,
    data: IdentityProviderUpdate,
) -> IdentityProvider:
    """Change a provider's settings; a new client secret replaces the stored one."""
    _ensure_admin(principal)
    provider = await get_scoped(
        session, IdentityProvider, provider_id, principal, "write", for_update=True
    )
    changes = data.model_dump(exclude_unset=True)
    secret = changes.pop("client_secret", None)
    if "issuer" in changes:
        check_issuer(changes["issuer"], state.settings)
    if "slug" in changes and changes["slug"] != provider.slug:
        await _ensure_slug_free(session, changes["slug"], exclude_id=provider.id)
    _platform_provider_cannot_provision(
        provider.client_id,
        provider.vendor_id,
        changes.get("auto_provision", provider.auto_provision),
    )
    for name, value in changes.items():
        setattr(provider, name, value)
    if secret is not None:
        provider.client_secret_encrypted = state.security.encrypt(secret.get_secret_value())
    await flush_or_conflict(session, gettext("The slug is already in use."), code="slug_taken")
    await ensure_still_in_scope(session, provider, principal)
    return provider


async def delete_provider(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID
) -> None:
    """Remove a provider: its sign-ins stop at once (accounts stay)."""
    _ensure_admin(principal)
    provider = await get_scoped(
        session, IdentityProvider, provider_id, principal, "write", for_update=True
    )
    await session.delete(provider)
    await session.flush()


# --- the sign-in flow -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginConfig:
    """What the code flow needs of a provider, read before any call to it."""

    provider_id: uuid.UUID
    slug: str
    issuer: str
    oidc_client_id: str
    scopes: str
    client_secret: str = field(repr=False)  # kept out of logs and tracebacks


@dataclass(frozen=True, slots=True)
class SsoIdentity:
    """Who the provider says signed in (from the validated ID token, or its userinfo)."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def discovery_url(issuer: str) -> str:
    """The OIDC discovery document of an issuer (a trailing slash is dropped first)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


async def load_login_config(session: AsyncSession, state: AppState, slug: str) -> LoginConfig:
    """The active provider with this slug (404 otherwise), its secret decrypted."""
    provider = (
        await session.execute(select(IdentityProvider).where(IdentityProvider.slug == slug))
    ).scalar_one_or_none()
    if provider is None or not provider.is_active:
        raise NotFound(gettext("identity provider not found"))
    try:
        secret = state.security.decrypt(provider.client_secret_encrypted)
    except TokenError as exc:
        raise SsoProviderUnavailable(
            gettext(
                "The provider's client secret cannot be read; an administrator must set it again."
            ),
            code="sso_provider_misconfigured",
        ) from exc
    return LoginConfig(
        provider_id=provider.id,
        slug=provider.slug,
        issuer=provider.issuer,
        oidc_client_id=provider.oidc_client_id,
        client_secret=secret,
        scopes=provider.scopes,
    )


def _oauth_app(config: LoginConfig) -> Any:
    """An authlib client built from the provider's stored configuration."""
    oauth = OAuth()
    return oauth.register(
        # Names the state entries in the session cookie: one flow per provider at a time.
        name=f"idp-{config.provider_id.hex}",
        client_id=config.oidc_client_id,
        client_secret=config.client_secret,
        server_metadata_url=discovery_url(config.issuer),
        client_kwargs={
            "scope": config.scopes,
            "code_challenge_method": "S256",
            "timeout": HTTP_TIMEOUT_SECONDS,
        },
    )


async def _load_metadata(app: Any, config: LoginConfig, settings: Settings) -> dict[str, Any]:
    await _refuse_internal_resolution(config.issuer, settings)
    metadata: dict[str, Any] = await app.load_server_metadata()
    if metadata.get("issuer") != config.issuer:
        # OIDC Discovery 4.3: the document must name the very issuer it was fetched for.
        raise SsoProviderUnavailable(
            gettext("The provider's discovery document names another issuer."),
            code="sso_provider_misconfigured",
        )
    return metadata


def _unavailable(exc: Exception) -> SsoProviderUnavailable:
    return SsoProviderUnavailable(
        gettext("The identity provider could not be used: {error}.", error=type(exc).__name__)
    )


async def authorization_redirect(
    request: Request, config: LoginConfig, *, redirect_uri: str
) -> RedirectResponse:
    """Send the browser to the provider; state, nonce and PKCE verifier go to the session."""
    app = _oauth_app(config)
    try:
        await _load_metadata(app, config, request.app.state.kerops.settings)
        response: RedirectResponse = await app.authorize_redirect(request, redirect_uri)
    except (http_client.HTTPError, ValueError, RuntimeError) as exc:
        raise _unavailable(exc) from exc
    return response


def _short(value: Any) -> str:
    # Error codes may come from the provider's redirect (the browser's query string).
    return str(value)[:64]


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


async def fetch_identity(request: Request, config: LoginConfig) -> SsoIdentity:
    """Complete the code flow (state, code, PKCE, ID token signature and claims) and read who."""
    app = _oauth_app(config)
    claims_options = {
        "iss": {"essential": True, "value": config.issuer},
        "aud": {"essential": True, "value": config.oidc_client_id},
        "sub": {"essential": True},
    }
    try:
        await _load_metadata(app, config, request.app.state.kerops.settings)
        token = await app.authorize_access_token(request, claims_options=claims_options)
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise SsoFailed(
                gettext("The identity provider returned no ID token."), code="sso_invalid_id_token"
            )
        if not claims.get("email") and app.server_metadata.get("userinfo_endpoint"):
            info = dict(await app.userinfo(token=token))
            if info.get("sub") != claims["sub"]:
                raise SsoFailed(
                    gettext("The provider's userinfo is about another subject."),
                    code="sso_invalid_id_token",
                )
            claims.update({k: info[k] for k in ("email", "email_verified", "name") if k in info})
    except MismatchingStateError as exc:
        raise SsoFailed(
            gettext("The sign-in state is missing, expired or does not match; start again."),
            code="sso_state_mismatch",
        ) from exc
    except OAuthError as exc:
        raise SsoFailed(
            gettext(
                "The identity provider refused the sign-in ({error}).", error=_short(exc.error)
            ),
            code="sso_failed",
        ) from exc
    except JoseError as exc:
        raise SsoFailed(
            gettext("The ID token is not valid ({error}).", error=_short(exc.error)),
            code="sso_invalid_id_token",
        ) from exc
    except AuthlibBaseError as exc:
        raise SsoFailed(
            gettext("Single sign-on failed ({error}).", error=_short(exc.error))
        ) from exc
    except (http_client.HTTPError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise _unavailable(exc) from exc
    email = claims.get("email")
    name = claims.get("name")
    return SsoIdentity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) and email else None,
        email_verified=_is_true(claims.get("email_verified")),
        name=name if isinstance(name, str) and name.strip() else None,
    )


def _belongs_to(user: User, provider: IdentityProvider) -> bool:
    """Whether this provider may sign the user in: only users of the provider's owner."""
    if provider.client_id is not None:
        return user.client_id == provider.client_id and user.role is not UserRole.super_admin
    if provider.vendor_id is not None:
        return user.vendor_id == provider.vendor_id and user.role is not UserRole.super_admin
    return True  # a platform provider (configured by staff only)


def _not_allowed() -> Forbidden:
    # One answer for "unknown" and "someone else's": the provider learns nothing about others.
    return Forbidden(
        gettext("This account cannot sign in through this identity provider."),
        code="sso_account_not_allowed",
    )


async def _provision(
    session: AsyncSession, provider: IdentityProvider, identity: SsoIdentity, email: str
) -> User:
    """Create the user of a first sign-in: a client member, or a technician of the vendor."""
    if not provider.auto_provision:
        raise _not_allowed()
    if provider.client_id is not None:
        role, client_id, vendor_id = UserRole.client_member, provider.client_id, None
    elif provider.vendor_id is not None:
        vendor = await session.get(Vendor, provider.vendor_id)
        if vendor is None or not vendor.is_active:
            raise _not_allowed()
        # Like an invitation into a vendor: the person belongs to the vendor, not to a client.
        role, client_id, vendor_id = UserRole.technician, None, vendor.id
    else:
        raise _not_allowed()
    if client_id is not None:
        await enforce_plan_limit(session, client_id=client_id, resource="users")
    user = User(
        email=email,
        full_name=(identity.name or email.split("@", 1)[0]).strip()[:200],
        password_hash=None,
        role=role,
        client_id=client_id,
        vendor_id=vendor_id,
        email_verified_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:  # the same person signing in twice at once
        raise Conflict(
            gettext("This account is being created; try again."), code="sso_retry"
        ) from exc
    return user


async def sign_in(session: AsyncSession, *, provider_id: uuid.UUID, identity: SsoIdentity) -> User:
    """The user a validated identity signs in as, under the provider's rules (else 403)."""
    provider = await session.get(IdentityProvider, provider_id)
    if provider is None or not provider.is_active:
        raise NotFound(gettext("identity provider not found"))
    if not identity.email:
        raise Forbidden(
            gettext("The identity provider gave no email address."), code="sso_email_missing"
        )
    try:
        email = user_service.normalise_email(_EMAIL.validate_python(identity.email))
    except ValidationError as exc:
        raise Forbidden(
            gettext("The identity provider gave an invalid email address."),
            code="sso_email_missing",
        ) from exc
    if not identity.email_verified:
        raise Forbidden(
            gettext("The identity provider has not verified this email address."),
            code="sso_email_unverified",
        )
    domain = email.rsplit("@", 1)[1]
    if provider.allowed_domains and domain not in provider.allowed_domains:
        raise Forbidden(
            gettext(
                "Accounts of '{domain}' cannot sign in through this identity provider.",
                domain=domain,
            ),
            code="sso_domain_not_allowed",
        )
    user = await user_service.find_user_by_email(session, email)
    if user is None:
        user = await _provision(session, provider, identity, email)
    elif not _belongs_to(user, provider):
        raise _not_allowed()
    if not user.is_active:
        raise Forbidden(gettext("This account is deactivated."), code="sso_account_inactive")
    now = utcnow()
    user.last_login_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now
    await session.flush()
    return user
