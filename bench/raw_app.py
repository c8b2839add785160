"""The raw reference server: the app's SQL straight on asyncpg, JSON built by hand.

It answers the benchmarked routes with the same documents as the app, sending the same SELECT
statements (identical text, so identical plans and prepared-statement reuse) and nothing else: no
transaction block, no pool pre-ping, no ORM, no Pydantic, no middleware. The access token is checked
with the standard library (HMAC-SHA256 signature, ``exp``, ``nbf``, ``iss``, ``aud``, ``typ``,
``sub``) using the key the app derives from the same secret.

Served by uvicorn exactly like the app::

    uvicorn raw_app:app_factory --factory --app-dir bench --workers 2

Only what the benchmark needs is implemented: a client owner reading ``/auth/me`` and the first or
a later page of ``/locales`` in the default sort (``name``), without filters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kerops.config import Settings

#: The principal lookup of ``kerops.core.deps._from_jwt``, as SQLAlchemy renders it.
PRINCIPAL_SQL = (
    "SELECT users.email, users.phone, users.full_name, users.password_hash, users.role, "
    "users.client_id, users.vendor_id, users.plan, users.skills, users.is_active, "
    "users.language, users.timezone, users.invited_by_id, users.email_verified_at, "
    "users.last_login_at, users.id, users.created_at, users.updated_at, EXISTS (SELECT * \n"
    "FROM refresh_tokens \n"
    "WHERE refresh_tokens.family_id = $1::UUID AND refresh_tokens.revoked_at IS NOT NULL) "
    "AS anon_1 \n"
    "FROM users \n"
    "WHERE users.id = $2::UUID"
)
_LOCALE_SELECT = (
    "SELECT locales.client_id, locales.name, locales.code, locales.address, locales.city, "
    "locales.region, locales.country, locales.latitude, locales.longitude, locales.timezone, "
    "locales.is_active, locales.id, locales.created_at, locales.updated_at \n"
    "FROM locales \n"
)
#: A client owner's first page of locales, sorted by name then id.
LOCALES_FIRST_SQL = (
    _LOCALE_SELECT + "WHERE locales.client_id = $1::UUID "
    "ORDER BY locales.name ASC, locales.id ASC \n LIMIT $2::INTEGER"
)
#: A later page: the keyset predicate after the cursor's (name, id).
LOCALES_AFTER_SQL = (
    _LOCALE_SELECT + "WHERE locales.client_id = $1::UUID AND (locales.name > $2::VARCHAR "
    "OR locales.name = $3::VARCHAR AND locales.id > $4::UUID) "
    "ORDER BY locales.name ASC, locales.id ASC \n LIMIT $5::INTEGER"
)
SQL_BY_NAME = {
    "principal": PRINCIPAL_SQL,
    "locales_first": LOCALES_FIRST_SQL,
    "locales_after": LOCALES_AFTER_SQL,
}

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
LEEWAY_SECONDS = 5
_USER_FIELDS = (
    "email",
    "phone",
    "full_name",
    "role",
    "client_id",
    "vendor_id",
    "plan",
    "skills",
    "is_active",
    "language",
    "timezone",
    "email_verified_at",
    "last_login_at",
    "created_at",
    "updated_at",
)
_LOCALE_FIELDS = (
    "client_id",
    "name",
    "code",
    "address",
    "city",
    "region",
    "country",
    "latitude",
    "longitude",
    "timezone",
    "is_active",
    "created_at",
    "updated_at",
)


class HttpError(Exception):
    """An error answered as a small JSON document."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode() + b"=" * (-len(text) % 4))


def _value(value: Any) -> Any:
    """A column value as the app's JSON shows it (UUID text, ISO time with ``Z``)."""
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _json(document: Any, status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), status_code=status, media_type="application/json")


def derive_jwt_key(secret: str) -> bytes:
    """The HS256 key the app derives from its secret (HKDF-SHA256, info ``kerops-jwt``)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kerops-jwt").derive(
        secret.encode()
    )


class Reference:
    """The reference handlers and their connection pool."""

    def __init__(
        self,
        dsn: str,
        secret: str,
        *,
        issuer: str = "kerops",
        audience: str = "kerops-api",
        pool_size: int = 10,
        on_connect: Callable[[asyncpg.Connection], Any] | None = None,
    ) -> None:
        self.dsn = dsn
        self.key = derive_jwt_key(secret)
        self.issuer = issuer
        self.audience = audience
        self.pool_size = pool_size
        self.on_connect = on_connect
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        """Open the pool."""

        async def keep_session(_conn: asyncpg.Connection) -> None:
            # Nothing to reset: no session state is ever changed. (The default reset costs a
            # round trip per release, which SQLAlchemy's pool does not pay either.)
            return None

        async def init(conn: asyncpg.Connection) -> None:
            if self.on_connect is not None:
                self.on_connect(conn)

        self.pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_size,
            reset=keep_session,
            init=init,
        )

    async def stop(self) -> None:
        """Close the pool."""
        if self.pool is not None:
            await self.pool.close()

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token, or 401."""
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            expected = hmac.new(
                self.key, f"{header_b64}.{payload_b64}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(expected, _b64decode(signature_b64)):
                raise ValueError("bad signature")
            if json.loads(_b64decode(header_b64)).get("alg") != "HS256":
                raise ValueError("bad algorithm")
            claims: dict[str, Any] = json.loads(_b64decode(payload_b64))
        except (ValueError, binascii.Error) as exc:
            raise HttpError(401, "Invalid or expired access token.") from exc
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if (
            not isinstance(claims.get("exp"), int | float)
            or claims["exp"] < now - LEEWAY_SECONDS
            or claims.get("nbf", 0) > now + LEEWAY_SECONDS
            or claims.get("iss") != self.issuer
            or self.audience not in audiences
            or claims.get("typ") != "access"
            or not claims.get("sub")
        ):
            raise HttpError(401, "Invalid or expired access token.")
        return claims

    async def principal(self, conn: asyncpg.Connection, request: Request) -> asyncpg.Record:
        """The caller's user row (the app's principal query), or 401."""
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise HttpError(401, "Not authenticated.")
        claims = self.verify(auth[7:])
        row = await conn.fetchrow(PRINCIPAL_SQL, claims.get("sid"), claims["sub"])
        if row is None or not row["is_active"]:
            raise HttpError(401, "Invalid or expired access token.")
        if claims.get("sid") and row["anon_1"]:
            raise HttpError(401, "This session has been logged out.")
        return row

    def _pool(self) -> asyncpg.Pool:
        assert self.pool is not None, "the pool is opened by the lifespan"
        return self.pool

    async def me(self, request: Request) -> Response:
        """``GET /api/v1/auth/me``."""
        try:
            async with self._pool().acquire() as conn:
                row = await self.principal(conn, request)
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        document = {"id": str(row["id"])}
        for name in _USER_FIELDS:
            document[name] = _value(row[name])
        document["skills"] = json.loads(row["skills"])
        return _json(document)

    async def locales(self, request: Request) -> Response:
        """``GET /api/v1/locales``: a client owner's locales by name, one keyset page."""
        query = request.query_params
        try:
            limit = min(int(query.get("limit") or DEFAULT_LIMIT), MAX_LIMIT)
            cursor = query.get("cursor")
            after: tuple[str, uuid.UUID] | None = None
            if cursor:
                raw = json.loads(_b64decode(cursor))
                if raw.get("s") != "name":
                    raise HttpError(422, "The cursor is not valid for this list and sort.")
                after = (raw["v"], uuid.UUID(raw["i"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return _json({"detail": "invalid limit or cursor"}, 422)
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        try:
            async with self._pool().acquire() as conn:
                user = await self.principal(conn, request)
                if user["role"] != "client_owner":
                    raise HttpError(403, "The reference serves client owners only.")
                if after is None:
                    rows = await conn.fetch(LOCALES_FIRST_SQL, user["client_id"], limit + 1)
                else:
                    name, last_id = after
                    rows = await conn.fetch(
                        LOCALES_AFTER_SQL, user["client_id"], name, name, last_id, limit + 1
                    )
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            payload = {"s": "name", "i": str(last["id"]), "v": last["name"]}
            next_cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
            next_cursor = next_cursor.rstrip("=")
        items = []
        for row in rows:
            item = {"id": str(row["id"])}
            for name in _LOCALE_FIELDS:
                item[name] = _value(row[name])
            items.append(item)
        return _json({"items": items, "next_cursor": next_cursor})


async def _health(_request: Request) -> Response:
    return _json({"status": "ok"})


def create_app(reference: Reference) -> Starlette:
    """The reference ASGI app; the lifespan opens and closes the pool."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await reference.start()
        try:
            yield
        finally:
            await reference.stop()

    return Starlette(
        routes=[
            Route("/api/v1/health", _health),
            Route("/api/v1/auth/me", reference.me),
            Route("/api/v1/locales", reference.locales),
        ],
        lifespan=lifespan,
    )


def app_factory() -> Starlette:
    """For ``uvicorn --factory``: settings from the ``KEROPS_*`` environment, as for the app."""
    settings = Settings()
    dsn = settings.resolved_database_url.replace("postgresql+asyncpg://", "postgresql://")
    reference = Reference(
        dsn,
        settings.resolved_secret_key(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return create_app(reference)
