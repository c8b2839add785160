"""Jobs of purchasing: e-mailing a placed order to its vendor, its sweep, and the daily reorder
run.

Each runs at least once and is idempotent. ``purchasing.send_order`` e-mails an order exactly
once: it claims the order first (one conditional UPDATE: only an order not yet e-mailed and not
claimed, or whose claim expired), commits the claim, sends, and marks ``emailed_at``; a
duplicate message, or a second worker, finds the order claimed or e-mailed and does nothing. A
send that died (the process stopped after the claim) leaves a claim that expires:
``purchasing.email_sweep`` queues those orders again. A repeated reorder run proposes nothing
new (an open proposal counts).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy import or_, select, update

from kerops.core.i18n import gettext, supported
from kerops.core.jobs import JobContext, job
from kerops.core.mail import Attachment, OutgoingMessage
from kerops.core.types import utcnow
from kerops.purchasing import pdf, reorder
from kerops.purchasing.models import PurchaseOrder
from kerops.users.models import Client, Vendor

log = structlog.get_logger("kerops.purchasing")

#: An order claimed for its e-mail and not marked e-mailed after this long is sent again (the
#: job that claimed it died, or its send failed).
EMAIL_CLAIM = timedelta(minutes=10)
#: The sweep gives up on orders placed longer ago than this (a vendor address that keeps
#: failing is not tried for ever).
EMAIL_GIVE_UP_AFTER = timedelta(days=7)
#: Orders the sweep queues per run.
EMAIL_SWEEP_LIMIT = 200


@job("purchasing.send_order")
async def send_order(ctx: JobContext, order_id: str) -> None:
    """E-mail a placed order's PDF to its vendor's contact, in the client's language, once."""
    session = ctx.session
    now = utcnow()
    key = uuid.UUID(order_id)
    claimed = (
        await session.execute(
            update(PurchaseOrder)
            .where(
                PurchaseOrder.id == key,
                PurchaseOrder.emailed_at.is_(None),
                or_(
                    PurchaseOrder.email_claimed_until.is_(None),
                    PurchaseOrder.email_claimed_until < now,
                ),
            )
            .values(email_claimed_until=now + EMAIL_CLAIM)
            .returning(PurchaseOrder.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar()
    if claimed is None:
        return  # unknown, e-mailed already, or another run holds it
    found = await session.execute(
        select(PurchaseOrder, Vendor.contact_email, Client.language)
        .join(Vendor, Vendor.id == PurchaseOrder.vendor_id)
        .join(Client, Client.id == PurchaseOrder.client_id)
        .where(PurchaseOrder.id == key)
        .execution_options(populate_existing=True)
    )
    order, address, client_language = found.one()
    if not address:
        log.info("purchase_order_not_emailed", order=order_id)
        order.email_claimed_until = None  # nothing to send; the sweep leaves it
        return
    language = supported(client_language) or "es-CL"
    content = await pdf.document(session, order, language)
    code = pdf.order_code(order.number)
    message = OutgoingMessage(
        channel="email",
        to=address,
        subject=gettext("Purchase order {number}", language, number=code),
        body=gettext(
            "Attached is our purchase order {number}. Please confirm its reception.",
            language,
            number=code,
        ),
        attachments=(Attachment(f"{code}.pdf", "application/pdf", content),),
    )
    # The claim is committed before sending: no other run sends this order meanwhile.
    await session.commit()
    try:
        await ctx.state.sender.send(message)
    except Exception:
        # The claim stays and expires: the sweep sends the order again then.
        log.exception("purchase_order_email_failed", order=order_id)
        return
    order.emailed_at = utcnow()
    order.email_claimed_until = None


@job("purchasing.email_sweep", every_seconds=300)
async def email_sweep(ctx: JobContext, limit: int = EMAIL_SWEEP_LIMIT) -> None:
    """Queue the orders whose e-mail was claimed and never marked sent once the claim expired
    (its job died or its send failed), placed within the last week."""
    now = utcnow()
    stmt = (
        select(PurchaseOrder.id)
        .where(
            PurchaseOrder.emailed_at.is_(None),
            PurchaseOrder.email_claimed_until < now,
            PurchaseOrder.ordered_at > now - EMAIL_GIVE_UP_AFTER,
        )
        .order_by(PurchaseOrder.email_claimed_until)
        .limit(limit)
    )
    for order_id in (await ctx.session.execute(stmt)).scalars():
        ctx.enqueue("purchasing.send_order", order_id=str(order_id))


@job("purchasing.reorder", cron="0 10 * * *")
async def reorder_run(ctx: JobContext) -> None:
    """Propose draft orders for every client's low stock (daily, 10:00 UTC)."""
    done = await reorder.propose(ctx.session)
    log.info("reorder_run", proposed=len(done.orders), skipped=len(done.skipped))
