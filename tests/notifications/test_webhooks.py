"""Webhooks: subscriptions managed by the client's owner, signed deliveries to a real receiver,
retries with backoff, dead letters and manual retries, and the SSRF guard."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import netguard
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.notifications import webhooks
from kerops.notifications.models import DeliveryStatus, WebhookDelivery
from tests.fixtures.factories import Account, Runner
from tests.notifications.conftest import API, Receiver, Site, raise_ticket, run_job

PUBLIC_URL = "https://93.184.215.14/hooks/kerops"


def create(client: TestClient, account: Account, url: str, **body: Any) -> Any:
    payload = {"url": url, "event_types": ["ticket.created"], **body}
    return client.post(f"{API}/webhooks", json=payload, headers=account.headers)


def created(client: TestClient, account: Account, url: str, **body: Any) -> dict[str, Any]:
    response = create(client, account, url, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def deliveries(
    client: TestClient, account: Account, webhook_id: str, **query: Any
) -> list[dict[str, Any]]:
    response = client.get(
        f"{API}/webhooks/{webhook_id}/deliveries", params=query, headers=account.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def allow_private(client: TestClient, allowed: bool = True) -> None:
    client.app.state.kerops.settings.webhook_allow_private = allowed  # type: ignore[attr-defined]


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as docs/notifications.md shows it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def make_due(run: Runner) -> None:
    """Bring every waiting delivery's next attempt to now."""

    async def due(session: AsyncSession) -> None:
        await session.execute(
            update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )

    run(due)


def stored(run: Runner) -> list[WebhookDelivery]:
    async def read(session: AsyncSession) -> list[WebhookDelivery]:
        stmt = select(WebhookDelivery).order_by(WebhookDelivery.created_at)
        return list((await session.execute(stmt)).scalars())

    result: list[WebhookDelivery] = run(read)
    return result


# --- subscriptions -------------------------------------------------------------------------------


def test_the_secret_is_shown_only_when_made_or_rotated(client: TestClient, site: Site) -> None:
    hook = created(client, site.owner, PUBLIC_URL, description="ERP")
    assert hook["secret"].startswith("whsec_") and hook["client_id"] == str(site.owner.client_id)
    shown = client.get(f"{API}/webhooks/{hook['id']}", headers=site.owner.headers).json()
    assert "secret" not in shown and shown["url"] == PUBLIC_URL
    listed = client.get(f"{API}/webhooks", headers=site.owner.headers).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    rotated = client.post(f"{API}/webhooks/{hook['id']}/rotate-secret", headers=site.owner.headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != hook["secret"]


def test_only_the_clients_owner_manages_its_webhooks(client: TestClient, site: Site) -> None:
    hook = created(client, site.owner, PUBLIC_URL)
    for member in (site.manager, site.requester, site.tech, site.vendor_admin):
        assert create(client, member, PUBLIC_URL).status_code == 403
        response = client.get(f"{API}/webhooks/{hook['id']}", headers=member.headers)
        assert response.status_code == 404
    for outsider in (site.manager, site.other_owner):
        response = client.patch(
            f"{API}/webhooks/{hook['id']}", json={"is_active": False}, headers=outsider.headers
        )
        assert response.status_code == 404
        assert client.get(f"{API}/webhooks", headers=outsider.headers).json()["items"] == []


def test_a_webhook_is_changed_and_deleted(client: TestClient, site: Site) -> None:
    hook = created(client, site.owner, PUBLIC_URL)
    url = f"{API}/webhooks/{hook['id']}"
    changes = {"event_types": ["*"], "is_active": False, "url": "https://93.184.215.15/h"}
    response = client.patch(url, json=changes, headers=site.owner.headers)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in changes} == changes
    assert client.patch(url, json={"url": None}, headers=site.owner.headers).status_code == 422
    assert client.delete(url, headers=site.owner.headers).status_code == 204
    assert client.get(url, headers=site.owner.headers).status_code == 404


def test_unknown_event_types_are_refused(client: TestClient, site: Site) -> None:
    response = create(client, site.owner, PUBLIC_URL, event_types=["ticket.deleted"])
    assert response.status_code == 422


# --- SSRF ----------------------------------------------------------------------------------------

INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://10.0.0.8/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://localhost:8000/hook",
    "http://app.localhost/hook",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_targets_are_refused(client: TestClient, site: Site, url: str) -> None:
    response = create(client, site.owner, url)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "url"]


@pytest.mark.parametrize(
    "url", ["ftp://93.184.215.14/x", "http://user:pw@93.184.215.14/x", "http:///x", "hooks.cl"]
)
def test_other_schemes_credentials_and_hostless_urls_are_refused(
    client: TestClient, site: Site, url: str
) -> None:
    assert create(client, site.owner, url).status_code == 422


def test_a_name_resolving_to_a_private_address_is_refused(
    client: TestClient, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def resolve(host: str, port: int, **_: Any) -> list[str]:
        return {"erp.example.cl": ["93.184.215.14", "10.1.2.3"]}.get(host, [])

    monkeypatch.setattr(netguard, "resolve", resolve)
    response = create(client, site.owner, "https://erp.example.cl/hook")
    assert response.status_code == 422 and response.json()["errors"][0]["type"] == "url_host"
    unresolvable = create(client, site.owner, "https://nowhere.example.cl/hook")
    assert unresolvable.json()["errors"][0]["type"] == "url_unresolvable"


def test_the_on_premise_setting_allows_private_but_never_link_local_targets(
    client: TestClient, site: Site
) -> None:
    allow_private(client)
    assert create(client, site.owner, "http://10.0.0.8/hook").status_code == 201
    assert create(client, site.owner, "http://localhost:8000/hook").status_code == 201
    for url in ("http://169.254.169.254/latest/", "http://[fe80::1]/h", "http://224.0.0.1/h"):
        assert create(client, site.owner, url).status_code == 422


def test_the_target_is_checked_again_at_delivery_time(
    client: TestClient, run: Runner, site: Site, receiver: Receiver
) -> None:
    allow_private(client)
    created(client, site.owner, receiver.url + "/hook")
    allow_private(client, False)  # as if the name now resolved inside the network
    raise_ticket(client, site.requester, site.locale)
    assert receiver.requests == []
    (delivery,) = stored(run)
    assert delivery.status is DeliveryStatus.failed and delivery.attempts == 1
    assert delivery.last_error is not None and delivery.last_error.startswith("refused")


def test_dns_rebinding_to_loopback_is_refused_at_delivery(
    client: TestClient,
    run: Runner,
    site: Site,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {"hooks.example.cl": ["93.184.215.14"]}

    async def resolve(host: str, port: int, **_: Any) -> list[str]:
        return answers.get(host, [host])

    monkeypatch.setattr(netguard, "resolve", resolve)
    created(client, site.owner, f"http://hooks.example.cl:{receiver.port}/hook")
    answers["hooks.example.cl"] = ["127.0.0.1"]
    raise_ticket(client, site.requester, site.locale)
    assert receiver.requests == []
    assert "internal address" in (stored(run)[0].last_error or "")


def test_a_redirect_is_not_followed(
    client: TestClient, run: Runner, site: Site, receiver: Receiver, second_receiver: Receiver
) -> None:
    allow_private(client)
    receiver.status = 302
    receiver.headers = {"Location": second_receiver.url + "/internal"}
    created(client, site.owner, receiver.url + "/hook")
    raise_ticket(client, site.requester, site.locale)
    assert len(receiver.requests) == 1 and second_receiver.requests == []
    (delivery,) = stored(run)
    assert delivery.status is DeliveryStatus.failed and delivery.last_status_code == 302
    assert "redirects are not followed" in (delivery.last_error or "")


# --- delivery ------------------------------------------------------------------------------------


def test_a_delivery_is_signed_and_carries_the_event_id(
    client: TestClient, site: Site, receiver: Receiver
) -> None:
    allow_private(client)
    hook = created(client, site.owner, receiver.url + "/hook?source=kerops")
    ticket = raise_ticket(client, site.requester, site.locale)
    (request,) = receiver.requests
    assert request.path == "/hook?source=kerops"
    assert verify_signature(hook["secret"], request.headers["x-kerops-signature"], request.body)
    assert not verify_signature("whsec_wrong", request.headers["x-kerops-signature"], request.body)
    body = json.loads(request.body)
    assert body["type"] == "ticket.created" and request.headers["x-kerops-event"] == body["type"]
    assert request.headers["x-kerops-event-id"] == body["id"]
    assert body["subject"] == {"type": "ticket", "id": ticket["id"]}
    assert body["data"]["number"] == ticket["number"]
    assert request.headers["host"] == receiver.url.removeprefix("http://")
    (delivery,) = deliveries(client, site.owner, hook["id"])
    assert delivery["status"] == "succeeded" and delivery["last_status_code"] == 200
    assert delivery["attempts"] == 1 and delivery["last_duration_ms"] is not None
    assert delivery["event_id"] == body["id"] == request.headers["x-kerops-event-id"]


def test_only_the_chosen_events_of_active_webhooks_are_delivered(
    client: TestClient, run: Runner, site: Site, receiver: Receiver
) -> None:
    allow_private(client)
    created(client, site.owner, receiver.url, event_types=["ticket.status_changed"])
    created(client, site.owner, receiver.url, event_types=["*"], is_active=False)
    created(client, site.other_owner, receiver.url, event_types=["*"])
    raise_ticket(client, site.requester, site.locale)
    assert receiver.requests == []
    assert stored(run) == []


def test_failed_attempts_back_off_exponentially(
    client: TestClient, run: Runner, site: Site, receiver: Receiver
) -> None:
    allow_private(client)
    receiver.status = 503
    created(client, site.owner, receiver.url)
    raise_ticket(client, site.requester, site.locale)
    waits = []
    for expected in (1, 2, 3):
        (delivery,) = stored(run)
        assert delivery.attempts == expected and delivery.status is DeliveryStatus.failed
        assert delivery.last_status_code == 503
        assert delivery.last_attempt_at is not None
        waits.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
        run_job(client, "webhooks.deliver")  # not due yet: nothing is sent
        assert len(receiver.requests) == expected
        make_due(run)
        run_job(client, "webhooks.deliver")
    for wait, base in zip(waits, (60, 300, 1800), strict=True):
        assert base * 0.9 - 1 <= wait <= base * 1.1 + 1


def test_the_backoff_schedule() -> None:
    schedule = [webhooks.backoff_seconds(n, jitter=False) for n in range(1, 10)]
    assert schedule == [60, 300, 1800, 7200, 21600, 43200, 86400, 86400, 86400]
    jittered = {webhooks.backoff_seconds(2) for _ in range(50)}
    assert all(270 <= w <= 330 for w in jittered) and len(jittered) > 1


def test_a_delivery_dies_after_its_attempts_and_is_retried_by_hand(
    client: TestClient, run: Runner, site: Site, receiver: Receiver
) -> None:
    allow_private(client)
    client.app.state.kerops.settings.webhook_max_attempts = 3  # type: ignore[attr-defined]
    receiver.status = 500
    hook = created(client, site.owner, receiver.url)
    raise_ticket(client, site.requester, site.locale)
    for _ in range(4):
        make_due(run)
        run_job(client, "webhooks.deliver")
    assert len(receiver.requests) == 3  # a dead delivery is not tried again
    (dead,) = deliveries(client, site.owner, hook["id"], status="dead")
    assert dead["attempts"] == 3 and dead["last_status_code"] == 500
    assert deliveries(client, site.owner, hook["id"], status="succeeded") == []

    receiver.status = 204
    retry = f"{API}/webhooks/{hook['id']}/deliveries/{dead['id']}/retry"
    for intruder in (site.manager, site.other_owner):
        assert client.post(retry, headers=intruder.headers).status_code == 404
    response = client.post(retry, headers=site.owner.headers)
    assert response.status_code == 200, response.text
    assert len(receiver.requests) == 4
    (done,) = deliveries(client, site.owner, hook["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1
    assert done["last_status_code"] == 204
    again = client.post(retry, headers=site.owner.headers)
    assert again.status_code == 409 and again.json()["code"] == "delivery_not_retryable"
    # Every attempt carried the same event id: the receiver's to de-duplicate.
    assert len({r.headers["x-kerops-event-id"] for r in receiver.requests}) == 1


def test_two_delivery_runs_at_once_send_each_delivery_once(
    client: TestClient, run: Runner, site: Site, receiver: Receiver
) -> None:
    allow_private(client)
    for _ in range(6):
        raise_ticket(client, site.requester, site.locale)  # no webhook yet: events only
    hook = created(client, site.owner, receiver.url, event_types=["*"])

    async def queue(session: AsyncSession) -> None:
        event_ids = (await session.execute(select(Event.id))).scalars().all()
        now = utcnow()
        await session.execute(
            insert(WebhookDelivery),
            [
                {
                    "id": uuid7(),
                    "client_id": site.owner.client_id,
                    "subscription_id": uuid.UUID(hook["id"]),
                    "event_id": event_id,
                    "event_type": "ticket.created",
                    "status": DeliveryStatus.pending,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for event_id in event_ids
            ],
        )

    run(queue)
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]

    async def both() -> None:
        # Each run claims at most 3: on PostgreSQL the second skips the rows the first holds.
        await asyncio.gather(
            jobs.run("webhooks.deliver", limit=3), jobs.run("webhooks.deliver", limit=3)
        )

    client.portal.call(both)  # type: ignore[union-attr]
    ids = [r.headers["x-kerops-event-id"] for r in receiver.requests]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert {d.status for d in stored(run)} == {DeliveryStatus.succeeded}
    assert {d.attempts for d in stored(run)} == {1}


def test_a_run_that_died_while_sending_frees_its_deliveries(
    client: TestClient, run: Runner, site: Site, receiver: Receiver
) -> None:
    allow_private(client)
    receiver.status = 500
    created(client, site.owner, receiver.url)
    raise_ticket(client, site.requester, site.locale)

    async def crashed(session: AsyncSession) -> None:
        await session.execute(
            update(WebhookDelivery).values(
                status=DeliveryStatus.sending, next_attempt_at=utcnow() + timedelta(minutes=5)
            )
        )

    run(crashed)
    receiver.status = 200
    run_job(client, "webhooks.deliver")
    assert len(receiver.requests) == 1  # still claimed
    make_due(run)
    run_job(client, "webhooks.deliver")
    assert len(receiver.requests) == 2
    assert stored(run)[0].status is DeliveryStatus.succeeded
