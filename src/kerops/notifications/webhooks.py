"""Webhooks: a client's subscriptions, signed deliveries of its events, retries and dead letters.

A delivery is one event for one subscription. Delivery runs (the ``webhooks.deliver`` job) claim
due deliveries with ``FOR UPDATE SKIP LOCKED``, mark them ``sending`` with a lease and commit, then
POST each one without holding a lock; two runs never send the same delivery, and a crashed run's
claims fall due again when their lease ends. Each attempt checks the target's addresses again
(DNS may have changed since the subscription was made), connects to the checked address itself
and follows no redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import structlog
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.core import access, netguard
from kerops.core.errors import Conflict, NotFound, Unprocessable, field_error
from kerops.core.jobs import enqueue
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.security import Security
from kerops.core.types import utcnow
from kerops.events.models import Event
from kerops.notifications.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from kerops.notifications.payloads import ALL_EVENTS
from kerops.notifications.schemas import WebhookCreate, WebhookUpdate
from kerops.users import clients

log = structlog.get_logger("kerops.webhooks")

SIGNATURE_HEADER = "X-KerOps-Signature"
EVENT_ID_HEADER = "X-KerOps-Event-Id"
EVENT_TYPE_HEADER = "X-KerOps-Event"
DELIVERY_HEADER = "X-KerOps-Delivery"
USER_AGENT = "KerOps-Webhooks/1"
SECRET_PREFIX = "whsec_"

#: Waits after the 1st, 2nd, ... failed attempt (the last one repeats), before jitter.
BACKOFF_SECONDS = (60, 300, 1800, 7200, 21600, 43200, 86400)
#: Each wait is stretched or shrunk at random by up to this share, so retries do not bunch.
JITTER = 0.1
#: Deliveries one run claims.
BATCH = 20

# --- subscriptions -------------------------------------------------------------------------------

WEBHOOK_SORTS = {
    "created_at": WebhookSubscription.created_at,
    "url": WebhookSubscription.url,
    "id": WebhookSubscription.id,
}
DELIVERY_SORTS = {
    "created_at": WebhookDelivery.created_at,
    "next_attempt_at": WebhookDelivery.next_attempt_at,
    "id": WebhookDelivery.id,
}


def new_secret() -> str:
    """A fresh signing secret."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def check_target(url: str, settings: Settings) -> None:
    """Refuse a webhook URL the server must not call (422 naming the field)."""
    try:
        await netguard.check_url(url, allow_private=settings.webhook_allow_private)
    except netguard.UnsafeTarget as exc:
        raise Unprocessable(
            f"This webhook URL cannot be used: {exc}",
            errors=[field_error(("body", "url"), str(exc), exc.code)],
        ) from exc


async def create_subscription(
    session: AsyncSession,
    *,
    principal: Principal,
    settings: Settings,
    security: Security,
    data: WebhookCreate,
) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL of the client to events; returns it with its secret (shown once)."""
    client_id = await clients.client_for_new(session, principal, data.client_id, "webhooks")
    await check_target(data.url, settings)
    secret = new_secret()
    subscription = WebhookSubscription(
        client_id=client_id,
        url=data.url,
        event_types=list(data.event_types),
        description=data.description,
        is_active=data.is_active,
        secret_encrypted=security.encrypt(secret),
    )
    session.add(subscription)
    await access.ensure_still_in_scope(session, subscription, principal)
    return subscription, secret


async def list_subscriptions(
    session: AsyncSession,
    *,
    principal: Principal,
    params: PageParams,
    active: bool | None = None,
) -> tuple[Sequence[WebhookSubscription], str | None]:
    """The webhooks the caller manages."""
    stmt = access.scoped(select(WebhookSubscription), WebhookSubscription, principal)
    if active is not None:
        stmt = stmt.where(WebhookSubscription.is_active.is_(active))
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=WEBHOOK_SORTS,
        id_column=WebhookSubscription.id,
        default_sort="-created_at",
    )


async def get_subscription(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """One webhook the caller manages (404 otherwise)."""
    return await access.get_scoped(session, WebhookSubscription, subscription_id, principal)


async def update_subscription(
    session: AsyncSession,
    *,
    principal: Principal,
    settings: Settings,
    subscription_id: uuid.UUID,
    data: WebhookUpdate,
) -> WebhookSubscription:
    """Change a webhook; a new URL is checked like a new webhook's."""
    subscription = await access.get_for_write(
        session, WebhookSubscription, subscription_id, principal, for_update=True
    )
    changes = data.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] != subscription.url:
        await check_target(changes["url"], settings)
    if "event_types" in changes:
        changes["event_types"] = list(changes["event_types"])
    for key, value in changes.items():
        setattr(subscription, key, value)
    await access.ensure_still_in_scope(session, subscription, principal)
    return subscription


async def rotate_secret(
    session: AsyncSession,
    *,
    principal: Principal,
    security: Security,
    subscription_id: uuid.UUID,
) -> tuple[WebhookSubscription, str]:
    """Replace a webhook's signing secret; the new one is shown once."""
    subscription = await access.get_for_write(
        session, WebhookSubscription, subscription_id, principal, for_update=True
    )
    secret = new_secret()
    subscription.secret_encrypted = security.encrypt(secret)
    await session.flush()
    return subscription, secret


async def delete_subscription(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> None:
    """Remove a webhook and its deliveries."""
    subscription = await access.get_for_write(
        session, WebhookSubscription, subscription_id, principal, for_update=True
    )
    await session.delete(subscription)
    await session.flush()


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    subscription_id: uuid.UUID,
    params: PageParams,
    status: DeliveryStatus | None = None,
) -> tuple[Sequence[WebhookDelivery], str | None]:
    """A webhook's deliveries, newest first; ``status=dead`` lists its dead letters."""
    await get_subscription(session, principal=principal, subscription_id=subscription_id)
    stmt: Select[Any] = access.scoped(select(WebhookDelivery), WebhookDelivery, principal).where(
        WebhookDelivery.subscription_id == subscription_id
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=DELIVERY_SORTS,
        id_column=WebhookDelivery.id,
        default_sort="-created_at",
    )


async def retry_delivery(
    session: AsyncSession,
    *,
    principal: Principal,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
) -> WebhookDelivery:
    """Send a dead (or failed) delivery again now, with a fresh set of attempts."""
    delivery = await access.get_for_write(
        session, WebhookDelivery, delivery_id, principal, for_update=True
    )
    if delivery.subscription_id != subscription_id:
        raise NotFound("webhook delivery not found")
    if delivery.status not in (DeliveryStatus.dead, DeliveryStatus.failed):
        raise Conflict(
            f"A {delivery.status} delivery cannot be retried; only failed and dead ones can.",
            code="delivery_not_retryable",
        )
    subscription = await session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or not subscription.is_active:
        raise Conflict(
            "The webhook is inactive; activate it before retrying its deliveries.",
            code="webhook_inactive",
        )
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    await session.flush()
    enqueue(session, "webhooks.deliver")
    return delivery


# --- queueing deliveries -------------------------------------------------------------------------


def wants(subscription: WebhookSubscription, event_type: str) -> bool:
    """Whether a subscription receives events of ``event_type``."""
    types = subscription.event_types or []
    return ALL_EVENTS in types or event_type in types


#: A client's active webhooks (read for every event): built once.
_ACTIVE_SUBSCRIPTIONS = select(WebhookSubscription).where(
    WebhookSubscription.client_id == bindparam("client_id"),
    WebhookSubscription.is_active.is_(True),
)


async def queue_deliveries(session: AsyncSession, event: Event) -> int:
    """Add a delivery of ``event`` for each active subscription wanting it (idempotent)."""
    if event.client_id is None:
        return 0
    found = await session.execute(_ACTIVE_SUBSCRIPTIONS, {"client_id": event.client_id})
    subscriptions = found.scalars()
    matching = [s for s in subscriptions if wants(s, event.type)]
    if not matching:
        return 0
    existing = set(
        (
            await session.execute(
                select(WebhookDelivery.subscription_id).where(WebhookDelivery.event_id == event.id)
            )
        ).scalars()
    )
    now = utcnow()
    new = [
        WebhookDelivery(
            client_id=event.client_id,
            subscription_id=s.id,
            event_id=event.id,
            event_type=event.type,
            status=DeliveryStatus.pending,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for s in matching
        if s.id not in existing
    ]
    session.add_all(new)
    await session.flush()
    return len(new)


# --- signing -------------------------------------------------------------------------------------


def envelope(event: Event) -> dict[str, Any]:
    """The JSON body of a delivery of ``event``."""
    return {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "client_id": str(event.client_id) if event.client_id else None,
        "locale_id": str(event.locale_id) if event.locale_id else None,
        "vendor_id": str(event.vendor_id) if event.vendor_id else None,
        "subject": {"type": event.subject_type, "id": str(event.subject_id)}
        if event.subject_id
        else None,
        "data": event.payload or {},
    }


def encode_body(event: Event) -> bytes:
    """The exact bytes sent (and signed) for ``event``."""
    return json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-KerOps-Signature`` value: ``t=<unix seconds>,v1=<HMAC-SHA256 hex>``."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- retries -------------------------------------------------------------------------------------


def backoff_seconds(attempts: int, *, jitter: bool = True) -> float:
    """How long to wait after the ``attempts``-th failed attempt (1 = the first)."""
    base = BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]
    if not jitter:
        return float(base)
    spread = secrets.randbelow(2001) / 1000 - 1  # -1.0 .. 1.0
    return base * (1 + JITTER * spread)


# --- attempts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt gave: success, the status code, an error, how long it took."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None


def _pinned(url: str, address: str) -> str:
    """``url`` with its host replaced by the checked ``address`` (so DNS cannot change it)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


async def attempt(
    http: httpx2.AsyncClient,
    *,
    settings: Settings,
    url: str,
    secret: str,
    event: Event,
    delivery_id: uuid.UUID,
) -> Outcome:
    """POST one signed delivery to ``url``; a redirect or a non-2xx answer is a failure."""
    try:
        target = await netguard.check_url(url, allow_private=settings.webhook_allow_private)
    except netguard.UnsafeTarget as exc:
        return Outcome(ok=False, error=f"refused: {exc}")
    body = encode_body(event)
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        EVENT_ID_HEADER: str(event.id),
        EVENT_TYPE_HEADER: event.type,
        DELIVERY_HEADER: str(delivery_id),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started = time.perf_counter()
    try:
        request = http.build_request(
            "POST",
            _pinned(url, target.addresses[0]),
            content=body,
            headers=headers,
            extensions=extensions,
        )
        # Streamed and closed unread: a receiver's answer body is never loaded.
        response = await http.send(request, stream=True, follow_redirects=False)
        await response.aclose()
    except httpx2.TimeoutException:
        return Outcome(ok=False, error="timed out", duration_ms=_since(started))
    except httpx2.HTTPError as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    duration = _since(started)
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(ok=True, status_code=code, duration_ms=duration)
    redirect = 300 <= code < 400
    error = f"HTTP {code}: redirects are not followed" if redirect else f"HTTP {code}"
    return Outcome(ok=False, status_code=code, error=error, duration_ms=duration)


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def record(
    delivery: WebhookDelivery, outcome: Outcome, *, now: datetime, max_attempts: int
) -> None:
    """Write an attempt's outcome on its delivery: succeeded, failed (retry later) or dead."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:500] if outcome.error else None
    delivery.last_duration_ms = outcome.duration_ms
    if outcome.ok:
        delivery.status = DeliveryStatus.succeeded
        delivery.delivered_at = now
    elif delivery.attempts >= max_attempts:
        delivery.status = DeliveryStatus.dead
    else:
        delivery.status = DeliveryStatus.failed
        delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))


def due(now: datetime) -> Any:
    """Deliveries to try now: never tried or failed and due, or claimed by a run that died (a
    ``sending`` delivery's ``next_attempt_at`` is the end of its claim)."""
    return and_(
        WebhookDelivery.status.in_(
            (DeliveryStatus.pending, DeliveryStatus.failed, DeliveryStatus.sending)
        ),
        WebhookDelivery.next_attempt_at <= now,
    )


def http_client(settings: Settings) -> httpx2.AsyncClient:
    """The client deliveries go out with: short timeouts, no redirects, no proxies from env."""
    return httpx2.AsyncClient(
        timeout=httpx2.Timeout(settings.webhook_timeout_seconds),
        follow_redirects=False,
        trust_env=False,
    )
