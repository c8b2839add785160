"""A placed order is e-mailed to its vendor exactly once: its job claims the order before
sending, a duplicate or concurrent run finds it claimed or e-mailed, and a claim that expired
without the e-mail (the sending died) is sent again by the sweep."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.types import utcnow
from kerops.purchasing import jobs as purchasing_jobs
from kerops.purchasing.models import PurchaseOrder
from tests.conftest import as_platform
from tests.purchasing.conftest import VENDOR_EMAIL, Shop


def mails(client: TestClient) -> list[Any]:
    outbox = client.app.state.kerops.sender.outbox  # type: ignore[attr-defined]
    return [m for m in outbox if m.to == VENDOR_EMAIL]


def run_job(client: TestClient, name: str, **kwargs: Any) -> None:
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run(name, **kwargs))  # type: ignore[union-attr]


def email_state(shop: Shop, order_id: str) -> tuple[datetime | None, datetime | None]:
    async def read(session: AsyncSession) -> tuple[datetime | None, datetime | None]:
        row = (
            await session.execute(
                select(PurchaseOrder.email_claimed_until, PurchaseOrder.emailed_at).where(
                    PurchaseOrder.id == uuid.UUID(order_id)
                )
            )
        ).one()
        return row[0], row[1]

    result: tuple[datetime | None, datetime | None] = shop.run(read)
    return result


def set_email_state(
    shop: Shop, order_id: str, *, claimed_until: datetime | None, emailed_at: datetime | None
) -> None:
    async def write(session: AsyncSession) -> None:
        await session.execute(
            update(PurchaseOrder)
            .where(PurchaseOrder.id == uuid.UUID(order_id))
            .values(email_claimed_until=claimed_until, emailed_at=emailed_at)
        )

    shop.run(write)


def test_the_job_run_again_sends_no_second_email(shop: Shop) -> None:
    order = shop.ordered()
    assert len(mails(shop.client)) == 1
    claimed_until, emailed_at = email_state(shop, order["id"])
    assert claimed_until is None and emailed_at is not None
    assert shop.detail(order["id"])["emailed_at"] is not None
    run_job(shop.client, "purchasing.send_order", order_id=order["id"])
    run_job(shop.client, "purchasing.send_order", order_id=order["id"])
    assert len(mails(shop.client)) == 1
    assert email_state(shop, order["id"])[1] == emailed_at


def test_two_concurrent_runs_send_one_email(shop: Shop, monkeypatch: Any) -> None:
    order = shop.ordered()
    set_email_state(shop, order["id"], claimed_until=None, emailed_at=None)
    sender = shop.client.app.state.kerops.sender  # type: ignore[attr-defined]
    real_send = sender.send

    async def slow_send(message: Any) -> None:
        await asyncio.sleep(0.05)  # the other run tries while this one is sending
        await real_send(message)

    monkeypatch.setattr(sender, "send", slow_send)
    jobs = shop.client.app.state.kerops.jobs  # type: ignore[attr-defined]

    async def both() -> None:
        await asyncio.gather(
            *(jobs.run("purchasing.send_order", order_id=order["id"]) for _ in range(2))
        )

    shop.client.portal.call(as_platform(both))  # type: ignore[union-attr]
    assert len(mails(shop.client)) == 2  # the one of placing, and one of the two runs
    assert email_state(shop, order["id"])[1] is not None


def test_a_claim_that_expired_unsent_is_sent_by_the_sweep(shop: Shop, monkeypatch: Any) -> None:
    sender = shop.client.app.state.kerops.sender  # type: ignore[attr-defined]
    real_send = sender.send

    async def refused(message: Any) -> None:
        raise OSError("mailbox unavailable")

    monkeypatch.setattr(sender, "send", refused)
    order = shop.ordered()
    claimed_until, emailed_at = email_state(shop, order["id"])
    assert claimed_until is not None and emailed_at is None
    monkeypatch.setattr(sender, "send", real_send)
    run_job(shop.client, "purchasing.email_sweep")  # claimed a moment ago: left alone
    run_job(shop.client, "purchasing.send_order", order_id=order["id"])  # a duplicate too
    assert mails(shop.client) == []
    expired = utcnow() - timedelta(seconds=1)
    set_email_state(shop, order["id"], claimed_until=expired, emailed_at=None)
    run_job(shop.client, "purchasing.email_sweep")
    [mail] = mails(shop.client)
    assert mail.attachments[0].filename == "OC-000001.pdf"
    claimed_until, emailed_at = email_state(shop, order["id"])
    assert claimed_until is None and emailed_at is not None
    run_job(shop.client, "purchasing.email_sweep")
    assert len(mails(shop.client)) == 1


def test_an_emailed_order_is_not_sent_again(shop: Shop) -> None:
    order = shop.ordered()
    sent_at = utcnow() - timedelta(hours=1)
    # e-mailed, with a stale claim left behind: neither the sweep nor a duplicate resends it
    set_email_state(
        shop, order["id"], claimed_until=sent_at - purchasing_jobs.EMAIL_CLAIM, emailed_at=sent_at
    )
    run_job(shop.client, "purchasing.email_sweep")
    run_job(shop.client, "purchasing.send_order", order_id=order["id"])
    assert len(mails(shop.client)) == 1
    assert email_state(shop, order["id"])[1] == sent_at


def test_the_sweep_gives_up_on_orders_placed_long_ago(shop: Shop) -> None:
    order = shop.ordered()
    long_ago = utcnow() - purchasing_jobs.EMAIL_GIVE_UP_AFTER - timedelta(hours=1)

    async def age(session: AsyncSession) -> None:
        await session.execute(
            update(PurchaseOrder)
            .where(PurchaseOrder.id == uuid.UUID(order["id"]))
            .values(ordered_at=long_ago, email_claimed_until=long_ago, emailed_at=None)
        )

    shop.run(age)
    run_job(shop.client, "purchasing.email_sweep")
    assert len(mails(shop.client)) == 1
