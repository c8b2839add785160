"""API keys for integrations: shown once, stored as a hash, scoped, expiring, revocable.

Deleting a key revokes it: the row stays (the audit log and the record of who used it point at
it) but the key stops working and is gone from the API: reading, listing or deleting it again
answers 404, like a key that never existed."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth.models import ApiKey
from kerops.core.access import get_scoped, scoped
from kerops.core.db import flush_or_conflict
from kerops.core.deps import API_KEY_PREFIX
from kerops.core.errors import Conflict, Forbidden, NotFound
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.security import hash_token, random_token
from kerops.core.types import utcnow

PREFIX_CHARS = 8
_ALPHABET = string.ascii_letters + string.digits
API_KEY_SORTS = {"created_at": ApiKey.created_at, "name": ApiKey.name, "id": ApiKey.id}


def new_key() -> tuple[str, str]:
    """A fresh key and its visible prefix: ``kro_XXXXXXXX_<secret>`` and ``kro_XXXXXXXX``."""
    prefix = API_KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_CHARS))
    return f"{prefix}_{random_token(32)}", prefix


async def create_api_key(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    """Create a key of the caller; returns it with its secret (never stored in clear)."""
    if principal.scopes is not None and not set(scopes) <= principal.scopes:
        # A key may mint keys, but never one with rights it does not hold itself.
        raise Forbidden(
            gettext("An API key cannot create a key with scopes it does not have."),
            code="insufficient_scope",
        )
    for _ in range(5):
        key, prefix = new_key()
        taken = await session.scalar(select(exists().where(ApiKey.prefix == prefix)))
        if not taken:
            break
    else:  # pragma: no cover - 62**8 prefixes make this practically impossible
        raise Conflict(gettext("Could not allocate a key prefix; try again."))
    api_key = ApiKey(
        user_id=principal.user_id,
        client_id=principal.client_id,
        name=name,
        prefix=prefix,
        key_hash=hash_token(key),
        scopes=list(scopes),
        expires_at=expires_at,
    )
    session.add(api_key)
    await flush_or_conflict(session, gettext("Could not allocate a key prefix; try again."))
    return api_key, key


async def list_api_keys(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    user_id: uuid.UUID | None = None,
    active: bool | None = None,
) -> tuple[Sequence[ApiKey], str | None]:
    """One page of keys: the caller's own, or (staff) those of ``user_id``; never deleted ones.
    ``active``: only the unexpired (true) or only the expired (false)."""
    stmt = scoped(select(ApiKey), ApiKey, principal).where(
        ApiKey.user_id == (user_id or principal.user_id), ApiKey.revoked_at.is_(None)
    )
    if active is not None:
        unexpired = ApiKey.expires_at.is_(None) | (ApiKey.expires_at > utcnow())
        stmt = stmt.where(unexpired if active else ~unexpired)
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=API_KEY_SORTS,
        id_column=ApiKey.id,
        default_sort="-created_at",
    )


async def get_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    """One key within the caller's reach and not deleted, or 404."""
    return _not_deleted(await get_scoped(session, ApiKey, key_id, principal))


async def revoke_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> None:
    """Delete a key: revoked, kept for the record, hidden from the API (a second time: 404)."""
    api_key = await get_scoped(session, ApiKey, key_id, principal, "write", for_update=True)
    _not_deleted(api_key).revoked_at = utcnow()
    await session.flush()


def _not_deleted(api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is not None:
        raise NotFound(gettext("api key not found"))
    return api_key
