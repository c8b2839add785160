"""Routes under /api-keys: a user's integration keys (through a key: "admin" scope only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from kerops.auth import api_keys
from kerops.auth.api_keys_schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from kerops.auth.models import ApiKey
from kerops.core.deps import SessionDep, require_scope
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.principal import Principal
from kerops.idempotency.http import not_replayable

router = APIRouter(prefix="/api-keys", tags=["api keys"])

ApiKeyPage = Annotated[PageParams, sorted_by(api_keys.API_KEY_SORTS)]

KeyAdminDep = Annotated[Principal, Depends(require_scope("admin"))]


@router.post("", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
@not_replayable
async def create_api_key(
    body: ApiKeyCreate, principal: KeyAdminDep, session: SessionDep
) -> ApiKeyCreated:
    """Create a key acting as you within its scopes; the full key is shown only in this answer."""
    api_key, secret = await api_keys.create_api_key(
        session, principal, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=secret)


@router.get("", response_model=Page[ApiKeyRead])
async def list_api_keys(
    principal: KeyAdminDep,
    session: SessionDep,
    page: ApiKeyPage,
    user_id: Annotated[
        uuid.UUID | None, Query(description="Another user's keys (platform staff only)")
    ] = None,
    active: Annotated[
        bool | None, Query(description="Only unexpired keys (true) or expired ones (false)")
    ] = None,
) -> Page[ApiKeyRead]:
    """Your keys, newest first (never their secrets nor deleted keys)."""
    items, cursor = await api_keys.list_api_keys(
        session, principal, page, user_id=user_id, active=active
    )
    return Page[ApiKeyRead](items=[ApiKeyRead.model_validate(k) for k in items], next_cursor=cursor)


@router.get("/{key_id}", response_model=ApiKeyRead)
async def get_api_key(key_id: uuid.UUID, principal: KeyAdminDep, session: SessionDep) -> ApiKey:
    """One of your keys."""
    return await api_keys.get_api_key(session, principal, key_id)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: uuid.UUID, principal: KeyAdminDep, session: SessionDep) -> None:
    """Delete a key: it stops working at once and is gone from the API (404 from then on); its
    row is kept, revoked, for the audit log."""
    await api_keys.revoke_api_key(session, principal, key_id)
