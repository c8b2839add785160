"""Single sign-on (OIDC) routes and identity provider administration."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth import sso, tokens
from kerops.auth.schemas import TokenPair
from kerops.auth.sso_schemas import (
    IdentityProviderCreate,
    IdentityProviderRead,
    IdentityProviderUpdate,
    sso_path,
)
from kerops.core.audit import set_audit_context
from kerops.core.conditional import takes_any_query
from kerops.core.deps import CROSS_CLIENT, SessionDep, StateDep, client_ip, require_scope
from kerops.core.openapi import answers
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.principal import AuditContext, Principal
from kerops.core.state import AppState

providers = APIRouter(prefix="/identity-providers", tags=["identity providers"])
flow = APIRouter(prefix="/auth/sso", tags=["sso"], dependencies=[CROSS_CLIENT])

ProviderPage = Annotated[PageParams, sorted_by(sso.IDENTITY_PROVIDER_SORTS)]

#: Configuring sign-in is an administrative act: through an API key, the "admin" scope too.
AdminDep = Annotated[Principal, Depends(require_scope("admin"))]


@providers.post("", response_model=IdentityProviderRead, status_code=status.HTTP_201_CREATED)
async def create_identity_provider(
    body: IdentityProviderCreate, principal: AdminDep, state: StateDep, session: SessionDep
) -> IdentityProviderRead:
    """Configure an OIDC provider for your client or vendor (staff: any, or the platform)."""
    provider = await sso.create_provider(session, state, principal, data=body)
    return IdentityProviderRead.model_validate(provider)


@providers.get("", response_model=Page[IdentityProviderRead])
async def list_identity_providers(
    principal: AdminDep,
    session: SessionDep,
    page: ProviderPage,
    is_active: Annotated[bool | None, Query(description="Only active (or inactive) ones")] = None,
    client_id: Annotated[uuid.UUID | None, Query(description="Providers of this client")] = None,
    vendor_id: Annotated[uuid.UUID | None, Query(description="Providers of this vendor")] = None,
) -> Page[IdentityProviderRead]:
    """The providers you administer (sort: created_at, name, slug, id)."""
    items, cursor = await sso.list_providers(
        session, principal, page, is_active=is_active, client_id=client_id, vendor_id=vendor_id
    )
    return Page[IdentityProviderRead](
        items=[IdentityProviderRead.model_validate(p) for p in items], next_cursor=cursor
    )


@providers.get("/{provider_id}", response_model=IdentityProviderRead)
async def get_identity_provider(
    provider_id: uuid.UUID, principal: AdminDep, session: SessionDep
) -> IdentityProviderRead:
    """One provider you administer (never its client secret)."""
    provider = await sso.get_provider(session, principal, provider_id)
    return IdentityProviderRead.model_validate(provider)


@providers.patch("/{provider_id}", response_model=IdentityProviderRead)
async def update_identity_provider(
    provider_id: uuid.UUID,
    body: IdentityProviderUpdate,
    principal: AdminDep,
    state: StateDep,
    session: SessionDep,
) -> IdentityProviderRead:
    """Change a provider; ``client_secret`` replaces the stored secret."""
    provider = await sso.update_provider(session, state, principal, provider_id, data=body)
    return IdentityProviderRead.model_validate(provider)


@providers.delete("/{provider_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_identity_provider(
    provider_id: uuid.UUID, principal: AdminDep, session: SessionDep
) -> None:
    """Remove a provider: sign-ins through it stop at once (the accounts stay)."""
    await sso.delete_provider(session, principal, provider_id)


async def _limit(state: AppState, request: Request) -> None:
    # Every step calls the provider over the network: bound what one address can trigger.
    await state.limiter.hit(state.settings.login_ip_rate_limit, "sso-ip", client_ip(request))


async def _login_config(state: AppState, slug: str) -> sso.LoginConfig:
    # A short read, closed before the provider is called (no transaction held over the network).
    async with state.db.read_sessions() as session:
        return await sso.load_login_config(session, state, slug)


@asynccontextmanager
async def _write_transaction(request: Request, state: AppState) -> AsyncIterator[AsyncSession]:
    """A read-write unit of work for the callback (the request dependency opens GETs read-only)."""
    async with state.db.sessions() as session:
        set_audit_context(
            session.sync_session,
            AuditContext(
                request_id=getattr(request.state, "request_id", None),
                ip_address=client_ip(request),
            ),
        )
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@flow.get(
    "/{slug}/login",
    response_class=RedirectResponse,
    status_code=status.HTTP_302_FOUND,
    responses={302: {"description": "To the identity provider's sign-in page"}},
)
@answers(429, 502)
async def sso_login(slug: str, request: Request, state: StateDep) -> RedirectResponse:
    """Start signing in with an identity provider: redirects to its authorization endpoint."""
    await _limit(state, request)
    config = await _login_config(state, slug)
    redirect_uri = state.settings.base_url + sso_path(config.slug, "callback")
    return await sso.authorization_redirect(request, config, redirect_uri=redirect_uri)


@flow.get("/{slug}/callback", response_model=TokenPair)
@answers(400, 429, 502)
@takes_any_query
async def sso_callback(slug: str, request: Request, state: StateDep) -> TokenPair:
    """Where the provider sends the browser back: checks the sign-in and returns tokens."""
    await _limit(state, request)
    config = await _login_config(state, slug)
    identity = await sso.fetch_identity(request, config)
    async with _write_transaction(request, state) as session:
        user = await sso.sign_in(session, provider_id=config.provider_id, identity=identity)
        return await tokens.issue_tokens(session, state, user)
