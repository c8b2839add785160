"""Jobs of purchasing: e-mailing a placed order to its vendor, and the daily reorder run.

Both run at least once: a repeated ``purchasing.send_order`` e-mails the order again (the same
PDF); a repeated reorder run proposes nothing new (an open proposal counts).
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select

from kerops.core.i18n import gettext, supported
from kerops.core.jobs import JobContext, job
from kerops.core.mail import Attachment, OutgoingMessage
from kerops.purchasing import pdf, reorder
from kerops.purchasing.models import PurchaseOrder
from kerops.users.models import Client, Vendor

log = structlog.get_logger("kerops.purchasing")


@job("purchasing.send_order")
async def send_order(ctx: JobContext, order_id: str) -> None:
    """E-mail a placed order's PDF to its vendor's contact, in the client's language."""
    order = await ctx.session.get(PurchaseOrder, uuid.UUID(order_id))
    if order is None:
        return
    vendor = await ctx.session.get(Vendor, order.vendor_id)
    if vendor is None or not vendor.contact_email:
        log.info("purchase_order_not_emailed", order=order_id)
        return
    language = supported(
        (
            await ctx.session.execute(select(Client.language).where(Client.id == order.client_id))
        ).scalar()
    )
    content = await pdf.document(ctx.session, order, language or "es-CL")
    code = pdf.order_code(order.number)
    message = OutgoingMessage(
        channel="email",
        to=vendor.contact_email,
        subject=gettext("Purchase order {number}", language, number=code),
        body=gettext(
            "Attached is our purchase order {number}. Please confirm its reception.",
            language,
            number=code,
        ),
        attachments=(Attachment(f"{code}.pdf", "application/pdf", content),),
    )
    ctx.after_commit(lambda: ctx.state.sender.send(message))


@job("purchasing.reorder", cron="0 10 * * *")
async def reorder_run(ctx: JobContext) -> None:
    """Propose draft orders for every client's low stock (daily, 10:00 UTC)."""
    done = await reorder.propose(ctx.session)
    log.info("reorder_run", proposed=len(done.orders), skipped=len(done.skipped))
