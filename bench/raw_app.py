"""The raw reference server: the app's SQL straight on asyncpg, JSON built by hand.

It answers the benchmarked routes with the same documents as the app, sending the same SELECT
statements (identical text, so identical plans and prepared-statement reuse) and nothing else: no
transaction block, no pool pre-ping, no ORM, no Pydantic, no middleware. The access token is checked
with the standard library (HMAC-SHA256 signature, ``exp``, ``nbf``, ``iss``, ``aud``, ``typ``,
``sub``) using the key the app derives from the same secret.

Served by uvicorn exactly like the app::

    uvicorn raw_app:app_factory --factory --app-dir bench --workers 2

Only what the benchmarks need is implemented: a client owner reading ``/auth/me`` and the first
or a later page of ``/locales`` in the default sort (``name``), without filters; and, for the
tickets benchmark (``bench/bench_tickets.py``), a client owner getting one ticket, listing tickets
(one status, optionally one locale, default sort ``-created_at``, keyset cursor), raising a ticket
and moving one along its workflow (:class:`TicketsReference`).
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
from datetime import UTC, datetime
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Integer, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kerops.config import Settings
from kerops.tenancy.models import Locale

#: The principal lookup of ``kerops.auth.principals._from_jwt``, as SQLAlchemy renders it.
PRINCIPAL_SQL = (
    "SELECT users.email, users.phone, users.full_name, users.password_hash, users.role, "
    "users.client_id, users.client_role, users.vendor_id, users.skills, users.is_active, "
    "users.language, users.timezone, users.invited_by_id, users.email_verified_at, "
    "users.last_login_at, users.id, users.created_at, users.updated_at, EXISTS (SELECT * \n"
    "FROM refresh_tokens \n"
    "WHERE refresh_tokens.family_id = $1::UUID AND refresh_tokens.revoked_at IS NOT NULL) "
    "AS anon_1 \n"
    "FROM users \n"
    "WHERE users.id = $2::UUID"
)
#: The user row by primary key, as ``session.get(User, id)`` sends it.
USER_BY_ID_SQL = (
    "SELECT users.email, users.phone, users.full_name, users.password_hash, users.role, "
    "users.client_id, users.client_role, users.vendor_id, users.skills, users.is_active, "
    "users.language, users.timezone, users.invited_by_id, users.email_verified_at, "
    "users.last_login_at, users.id, users.created_at, users.updated_at \n"
    "FROM users \n"
    "WHERE users.id = $1::UUID"
)


def _render(stmt: Any) -> str:
    """A statement's text as the app's driver (SQLAlchemy's asyncpg dialect) receives it."""
    return str(stmt.compile(dialect=pg_asyncpg.dialect()))


def _locales_page(after: bool) -> str:
    """A client owner's page of locales sorted by name then id, after a (name, id) or not, as
    the app's keyset pagination builds it (a row-value comparison)."""
    stmt = select(Locale).where(Locale.client_id == bindparam("client_id", type_=Locale.id.type))
    if after:
        stmt = stmt.where(
            tuple_(Locale.name, Locale.id)
            > tuple_(
                bindparam("name", type_=Locale.name.type), bindparam("id", type_=Locale.id.type)
            )
        )
    stmt = stmt.order_by(Locale.name.asc(), Locale.id.asc())
    page = stmt.limit(bindparam("limit", type_=Integer))
    return _render(page)


#: A client owner's first page of locales, sorted by name then id.
LOCALES_FIRST_SQL = _locales_page(after=False)
#: A later page: the keyset predicate after the cursor's (name, id).
LOCALES_AFTER_SQL = _locales_page(after=True)
SQL_BY_NAME = {
    "principal": PRINCIPAL_SQL,
    "user_by_id": USER_BY_ID_SQL,
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
)
#: JSON columns of a locale, in the order of the app's ``LocaleRead`` (then the two times).
_LOCALE_JSON_FIELDS = ("business_hours", "closed_dates")


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
        # The app's default principal reuse (0 where the app predates it).
        field = Settings.model_fields.get("principal_cache_seconds")
        self.principal_seconds = float(field.default) if field is not None else 0.0
        self._principals: dict[tuple[str, str | None], tuple[float, asyncpg.Record]] = {}

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

    async def principal(
        self, conn: asyncpg.Connection, request: Request, *, cached: bool = True
    ) -> asyncpg.Record:
        """The caller's user row (the app's principal query), or 401.

        Like the app (``KEROPS_PRINCIPAL_CACHE_SECONDS``), a checked principal is reused for a
        few seconds per (user, sign-in session); ``cached=False`` always queries.
        """
        row, _ = await self.principal_and_hit(conn, request, cached=cached)
        return row

    async def principal_and_hit(
        self, conn: asyncpg.Connection, request: Request, *, cached: bool = True
    ) -> tuple[asyncpg.Record, bool]:
        """``principal``, and whether the row came from the reuse (no query)."""
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise HttpError(401, "Not authenticated.")
        claims = self.verify(auth[7:])
        key = (claims["sub"], claims.get("sid"))
        now = time.monotonic()
        hit = self._principals.get(key) if cached else None
        if hit is not None and hit[0] > now:
            return hit[1], True
        row = await conn.fetchrow(PRINCIPAL_SQL, claims.get("sid"), claims["sub"])
        if row is None or not row["is_active"]:
            raise HttpError(401, "Invalid or expired access token.")
        if claims.get("sid") and row["anon_1"]:
            raise HttpError(401, "This session has been logged out.")
        if self.principal_seconds > 0:
            if len(self._principals) >= 10_000:
                self._principals.clear()
            self._principals[key] = (now + self.principal_seconds, row)
        return row, False

    def _pool(self) -> asyncpg.Pool:
        assert self.pool is not None, "the pool is opened by the lifespan"
        return self.pool

    async def me(self, request: Request) -> Response:
        """``GET /api/v1/auth/me``."""
        try:
            async with self._pool().acquire() as conn:
                # The app returns the row its principal query read, or, when the principal
                # came from its cache, the user row read by id (``session.get``).
                row, hit = await self.principal_and_hit(conn, request)
                if hit:
                    row = await conn.fetchrow(USER_BY_ID_SQL, row["id"])
                    if row is None or not row["is_active"]:
                        raise HttpError(401, "Invalid or expired access token.")
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
                        LOCALES_AFTER_SQL, user["client_id"], name, last_id, limit + 1
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
            for name in _LOCALE_JSON_FIELDS:
                item[name] = json.loads(row[name])
            item["created_at"] = _value(row["created_at"])
            item["updated_at"] = _value(row["updated_at"])
            items.append(item)
        return _json({"items": items, "next_cursor": next_cursor})


async def _health(_request: Request) -> Response:
    return _json({"status": "ok"})


# --- tickets -------------------------------------------------------------------------------------


class TicketsReference(Reference):
    """The tickets handlers: get, list, create, transition, for a client owner.

    The statement texts are rendered once, at start-up, from the project's table definitions
    (``bench/tickets_sql.py``), so they are word for word those the app sends; each request then
    runs on asyncpg alone. Reads run without a transaction block; a create or a transition runs
    in one transaction, writes the same rows as the app (ticket, history, audit log) and batches
    its audit rows in one round trip.
    """

    def __init__(self, dsn: str, secret: str, **kwargs: Any) -> None:
        super().__init__(dsn, secret, **kwargs)
        import tickets_sql  # the project's models, imported once

        self.sql = tickets_sql.Statements()

    def _owner(self, user: asyncpg.Record) -> None:
        if user["role"] != "client_owner":
            raise HttpError(403, "The reference serves client owners only.")

    async def get_ticket(self, request: Request) -> Response:
        """``GET /api/v1/tickets/{id}``."""
        try:
            ticket_id = uuid.UUID(request.path_params["ticket_id"])
        except ValueError:
            return _json({"detail": "invalid id"}, 422)
        try:
            async with self._pool().acquire() as conn:
                user = await self.principal(conn, request)
                self._owner(user)
                row = await conn.fetchrow(self.sql.get_ticket, user["client_id"], ticket_id)
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        if row is None:
            return _json({"detail": "service ticket not found"}, 404)
        return _json(self.sql.ticket_document(row))

    async def list_tickets(self, request: Request) -> Response:
        """``GET /api/v1/tickets?status=…[&locale_id=…][&cursor=…]`` (sort ``-created_at``)."""
        query = request.query_params
        try:
            limit = min(int(query.get("limit") or DEFAULT_LIMIT), MAX_LIMIT)
            statuses = query.getlist("status")
            if len(statuses) != 1:
                raise HttpError(422, "The reference filters on exactly one status.")
            locale = query.get("locale_id")
            locale_id = uuid.UUID(locale) if locale else None
            after: tuple[datetime, uuid.UUID] | None = None
            cursor = query.get("cursor")
            if cursor:
                raw = json.loads(_b64decode(cursor))
                if raw.get("s") != "-created_at":
                    raise HttpError(422, "The cursor is not valid for this list and sort.")
                after = (datetime.fromisoformat(raw["v"]), uuid.UUID(raw["i"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return _json({"detail": "invalid limit, filter or cursor"}, 422)
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        try:
            async with self._pool().acquire() as conn:
                user = await self.principal(conn, request)
                self._owner(user)
                sql, order = self.sql.list_tickets(locale=locale_id is not None, keyset=bool(after))
                values = {
                    "client_id": user["client_id"],
                    "status": statuses[0],
                    "locale_id": locale_id,
                    "limit": limit + 1,
                }
                if after is not None:
                    values["created_at"], values["id"] = after
                rows = await conn.fetch(sql, *[values[name] for name in order])
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            payload = {
                "s": "-created_at",
                "i": str(last["id"]),
                "v": last["created_at"].isoformat(),
            }
            next_cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
            next_cursor = next_cursor.rstrip("=")
        items = [self.sql.ticket_document(row) for row in rows]
        return _json({"items": items, "next_cursor": next_cursor})

    async def create_ticket(self, request: Request) -> Response:
        """``POST /api/v1/tickets``: title, description, locale, optional asset, priority."""
        try:
            body = json.loads(await request.body())
            title = str(body["title"])
            description = str(body.get("description", ""))
            locale_id = uuid.UUID(body["locale_id"])
            asset_id = uuid.UUID(body["asset_id"]) if body.get("asset_id") else None
            priority = str(body.get("priority", "medium"))
            if not 1 <= len(title) <= 200 or priority not in self.sql.sla_minutes:
                raise ValueError("invalid body")
        except (ValueError, KeyError, TypeError):
            return _json({"detail": "invalid body"}, 422)
        sql = self.sql
        request_id = uuid.uuid4().hex
        ip = request.client.host if request.client else None
        try:
            async with self._pool().acquire() as conn:
                user = await self.principal(conn, request)
                self._owner(user)
                client_id = user["client_id"]
                async with conn.transaction():
                    locale = await conn.fetchrow(sql.get_locale, client_id, locale_id)
                    if locale is None:
                        raise HttpError(404, "locale not found")
                    if asset_id is not None:
                        asset = await conn.fetchrow(sql.get_asset, client_id, asset_id)
                        if asset is None:
                            raise HttpError(404, "asset not found")
                        if asset["locale_id"] != locale_id:
                            raise HttpError(422, "The asset must be in the ticket's locale.")
                    workflow = await conn.fetchrow(sql.default_workflow, client_id, 1)
                    if workflow is None:
                        raise HttpError(409, "The reference expects a default workflow.")
                    number = await conn.fetchval(sql.bump_counter, 1, client_id)
                    now = datetime.now(UTC)
                    policy_id, response_due, resolution_due = await sql.deadlines(
                        conn, client_id, locale_id, priority, now
                    )
                    ticket = sql.new_ticket(
                        client_id=client_id,
                        number=number,
                        title=title,
                        description=description,
                        locale_id=locale_id,
                        asset_id=asset_id,
                        requester_id=user["id"],
                        workflow_id=workflow["id"],
                        priority=priority,
                        sla_policy_id=policy_id,
                        sla_response_due_at=response_due,
                        sla_resolution_due_at=resolution_due,
                        created_at=now,
                    )
                    await conn.execute(sql.insert_ticket, *sql.ticket_args(ticket))
                    history = sql.new_history(ticket, None, "open", user["id"], "", now)
                    await conn.execute(sql.insert_history, *sql.history_args(history))
                    audit = [
                        sql.audit_row(
                            "create", "service_tickets", ticket, None, user, request_id, ip
                        ),
                        sql.audit_row(
                            "create", "ticket_history", history, None, user, request_id, ip
                        ),
                    ]
                    await conn.executemany(sql.insert_audit, audit)
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        return _json(sql.ticket_document(ticket), 201)

    async def transition(self, request: Request) -> Response:
        """``POST /api/v1/tickets/{id}/transitions``: ``{"to_status": …, "comment": …}``."""
        try:
            ticket_id = uuid.UUID(request.path_params["ticket_id"])
            body = json.loads(await request.body())
            to_status = str(body["to_status"])
            comment = str(body.get("comment") or "")
        except (ValueError, KeyError, TypeError):
            return _json({"detail": "invalid body"}, 422)
        sql = self.sql
        request_id = uuid.uuid4().hex
        ip = request.client.host if request.client else None
        try:
            async with self._pool().acquire() as conn:
                user = await self.principal(conn, request)
                self._owner(user)
                async with conn.transaction():
                    row = await conn.fetchrow(
                        sql.get_ticket_for_update, user["client_id"], ticket_id
                    )
                    if row is None:
                        raise HttpError(404, "service ticket not found")
                    current = row["status"]
                    steps = await conn.fetch(sql.steps_from, row["workflow_id"], current)
                    step = next((s for s in steps if s["to_status"] == to_status), None)
                    if step is None:
                        raise HttpError(409, f"A ticket cannot move from {current} to {to_status}.")
                    if "owner" not in json.loads(step["allowed_roles"]):
                        raise HttpError(403, "You may not move this ticket.")
                    if step["requires_comment"] and not comment:
                        raise HttpError(422, "this move requires a comment")
                    if step["requires_all_tasks_done"] or step["requires_valid_licence"]:
                        raise HttpError(422, "The reference checks no task or licence.")
                    if step["requires_photo"] or step["requires_signature"]:
                        raise HttpError(422, "The reference checks no attachment.")
                    now = datetime.now(UTC)
                    # The row is locked since it was read: a concurrent move waits, then finds
                    # this status and no step from it to the same one.
                    await conn.execute(sql.move, to_status, now, ticket_id)
                    ticket = dict(row)
                    ticket["status"] = to_status
                    ticket["updated_at"] = now
                    history = sql.new_history(ticket, current, to_status, user["id"], comment, now)
                    await conn.execute(sql.insert_history, *sql.history_args(history))
                    changes = {"status": {"before": current, "after": to_status}}
                    audit = [
                        sql.audit_row(
                            "create", "ticket_history", history, None, user, request_id, ip
                        ),
                        sql.audit_row(
                            "update", "service_tickets", ticket, changes, user, request_id, ip
                        ),
                    ]
                    await conn.executemany(sql.insert_audit, audit)
        except HttpError as exc:
            return _json({"detail": exc.detail}, exc.status)
        return _json(sql.ticket_document(ticket))


def create_app(reference: Reference) -> Starlette:
    """The reference ASGI app; the lifespan opens and closes the pool."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await reference.start()
        try:
            yield
        finally:
            await reference.stop()

    routes = [
        Route("/api/v1/health", _health),
        Route("/api/v1/auth/me", reference.me),
        Route("/api/v1/locales", reference.locales),
    ]
    if isinstance(reference, TicketsReference):
        routes += [
            Route("/api/v1/tickets", reference.list_tickets, methods=["GET"]),
            Route("/api/v1/tickets", reference.create_ticket, methods=["POST"]),
            Route("/api/v1/tickets/{ticket_id}", reference.get_ticket, methods=["GET"]),
            Route(
                "/api/v1/tickets/{ticket_id}/transitions", reference.transition, methods=["POST"]
            ),
        ]
    return Starlette(routes=routes, lifespan=lifespan)


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


def tickets_app_factory() -> Starlette:
    """For ``uvicorn --factory``: the reference with the tickets routes too."""
    settings = Settings()
    dsn = settings.resolved_database_url.replace("postgresql+asyncpg://", "postgresql://")
    reference = TicketsReference(
        dsn,
        settings.resolved_secret_key(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    return create_app(reference)
