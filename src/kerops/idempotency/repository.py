"""The SQL of idempotency keys: statements built once, with bound parameters."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.idempotency.models import IdempotencyKey

TABLE = cast(Table, IdempotencyKey.__table__)
_c = TABLE.c

_LOCK = select(func.pg_try_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)))
_FIND = select(_c.fingerprint, _c.status_code, _c.headers, _c.body, _c.expires_at).where(
    _c.caller == bindparam("caller"), _c.key == bindparam("key")
)
_FORGET = delete(TABLE).where(_c.caller == bindparam("caller"), _c.key == bindparam("key"))
_RECORD = insert(TABLE)
_SWEEP = delete(TABLE).where(_c.expires_at <= bindparam("now"))


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The request a key named first and the answer it got."""

    fingerprint: str
    status_code: int
    headers: dict[str, str]
    body: bytes


def lock_id(caller: str, key: str) -> int:
    """The PostgreSQL advisory lock of one caller's key (a signed 64-bit number)."""
    digest = hashlib.sha256(f"{caller}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def try_lock(session: AsyncSession, *, caller: str, key: str) -> bool:
    """Take the key's advisory lock until the transaction ends (PostgreSQL); False: another
    transaction holds it, so a request with this key is running right now."""
    return bool(await session.scalar(_LOCK, {"lock_id": lock_id(caller, key)}))


async def find(
    session: AsyncSession, *, caller: str, key: str, now: datetime
) -> StoredAnswer | None:
    """The answer recorded under the caller's key; an expired one is deleted (the key is new)."""
    row = (await session.execute(_FIND, {"caller": caller, "key": key})).first()
    if row is None:
        return None
    if row.expires_at <= now:
        await session.execute(_FORGET, {"caller": caller, "key": key})
        return None
    return StoredAnswer(
        fingerprint=row.fingerprint,
        status_code=row.status_code,
        headers=dict(row.headers),
        body=bytes(row.body),
    )


async def record(
    session: AsyncSession,
    *,
    caller: str,
    key: str,
    fingerprint: str,
    status_code: int,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Record the answer to the caller's key in the session's transaction."""
    values: dict[str, Any] = {
        "caller": caller,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": status_code,
        "headers": headers,
        "body": body,
        "created_at": now,
        "expires_at": expires_at,
    }
    await session.execute(_RECORD, values)


async def delete_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete every key kept past its expiry; how many."""
    result = await session.execute(_SWEEP, {"now": now})
    return int(getattr(result, "rowcount", 0) or 0)
