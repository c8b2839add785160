"""Jobs and event subscribers of notifications: in-app messages, emails, webhook deliveries and
the certification expiry reminders.

Every one is idempotent (brokers deliver at least once, two workers may run the same job):
notifications are unique per (event, user), emails and deliveries are claimed before they are
sent, reminders are unique per (licence, expiry date, threshold).
"""

from __future__ import annotations

import functools
import uuid
from datetime import date, timedelta

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from kerops.core.jobs import JobContext, JobHost, job
from kerops.core.mail import OutgoingMessage
from kerops.core.types import utcnow
from kerops.events import service as events
from kerops.events.models import Event
from kerops.notifications import service, webhooks
from kerops.notifications.models import (
    CertificationReminder,
    DeliveryStatus,
    EmailState,
    Notification,
    WebhookDelivery,
    WebhookSubscription,
)
from kerops.users.models import User
from kerops.workforce import licences
from kerops.workforce.models import TechnicianCertification

log = structlog.get_logger("kerops.notifications")

#: Emails tried this many times are given up (``failed``).
EMAIL_MAX_ATTEMPTS = 5
#: A claimed email not marked sent after this long is claimed again (its job died).
EMAIL_CLAIM = timedelta(minutes=10)
#: A pending email is left to its own job this long before the sweep sends it.
EMAIL_SWEEP_AFTER = timedelta(seconds=30)
#: Emails the sweep hands to one job (one claim, then sent one after the other).
EMAIL_BATCH = 25
#: Wait between two tries of a failed email.
EMAIL_RETRY_AFTER = timedelta(minutes=5)
#: Days before a licence expires at which its technician and their managers are reminded.
REMINDER_DAYS = (60, 30, 7)


# --- subscribers ---------------------------------------------------------------------------------


@events.subscriber("notifications.in_app")
async def notify_people(ctx: JobContext, event: Event) -> None:
    """Write the event's in-app notifications, and email them once they are committed.

    The emails are written claimed and sent by this same job after its commit, then marked in
    one short transaction (a job of their own cost as much as the dispatch itself: a message,
    a claim, a read and two transactions). Those that fail are left ``pending`` for the sweep;
    a crash before they are marked leaves claims that expire, and the sweep sends them."""
    created = await service.notify(ctx.session, event, email=ctx.state.settings.notification_email)
    to_email = [n for n in created if n.address is not None]
    if to_email:
        ctx.after_commit(functools.partial(_email_written, ctx.state, to_email))


def _email(state: JobHost, to: str, title: str, body: str, link: str | None) -> OutgoingMessage:
    """A notification's e-mail: its title, its text, and its link under the public base URL."""
    if link:
        body = f"{body}\n\n{state.settings.base_url}{link}"
    return OutgoingMessage(channel="email", to=to, subject=title, body=body)


async def _email_written(state: JobHost, written: list[service.Written]) -> None:
    sent: list[uuid.UUID] = []
    failed: list[uuid.UUID] = []
    for note in written:
        assert note.address is not None
        try:
            message = note.message
            await state.sender.send(
                _email(state, note.address, message.title, message.body, message.link)
            )
        except Exception:
            log.exception("notification_email_failed", notification=str(note.id))
            failed.append(note.id)
            continue
        sent.append(note.id)
    async with state.db.engine.begin() as conn:
        await service.mark_emailed(conn, sent=sent, failed=failed)


@events.subscriber("notifications.webhooks")
async def queue_webhooks(ctx: JobContext, event: Event) -> None:
    """Queue the event's deliveries to the client's webhooks wanting it."""
    if await webhooks.queue_deliveries(ctx.session, event):
        ctx.enqueue("webhooks.deliver")


# --- email ---------------------------------------------------------------------------------------


@job("notifications.send_emails")
async def send_emails(ctx: JobContext, notification_ids: list[str]) -> None:
    """Email these notifications to their recipients, each once: the ones still claimable are
    claimed in one UPDATE (a duplicate message or another worker finds them claimed), the claim
    is committed, then each is sent and marked ``sent`` (or ``pending`` again on failure)."""
    session = ctx.session
    now = utcnow()
    keys = sorted({uuid.UUID(i) for i in notification_ids})
    if not keys:
        return
    claimable = or_(
        Notification.email_state == EmailState.pending,
        (Notification.email_state == EmailState.sending)
        & (Notification.emailed_at < now - EMAIL_CLAIM),
    )
    claimed = (
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(keys), claimable)
            .values(
                email_state=EmailState.sending,
                emailed_at=now,
                email_attempts=Notification.email_attempts + 1,
            )
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    ).scalars()
    mine = sorted(claimed)
    if not mine:
        return
    rows = (
        await session.execute(
            select(Notification, User.email)
            .join(User, User.id == Notification.user_id)
            .where(Notification.id.in_(mine))
            .order_by(Notification.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    # The claims are committed before sending, so no other job sends these meanwhile.
    await session.commit()
    for notification, address in rows:
        try:
            await ctx.state.sender.send(
                _email(ctx.state, address, notification.title, notification.body, notification.link)
            )
        except Exception:
            log.exception("notification_email_failed", notification=str(notification.id))
            gave_up = notification.email_attempts >= EMAIL_MAX_ATTEMPTS
            notification.email_state = EmailState.failed if gave_up else EmailState.pending
            continue
        notification.email_state = EmailState.sent
        notification.emailed_at = utcnow()


@job("notifications.send_email")
async def send_email(ctx: JobContext, notification_id: str) -> None:
    """Email one notification (the one-id form of ``notifications.send_emails``, kept for the
    messages queued by earlier versions)."""
    await send_emails(ctx, [notification_id])


@job("notifications.email_sweep", every_seconds=60)
async def email_sweep(ctx: JobContext, limit: int = 200) -> None:
    """Queue the emails whose job was lost, failed for a while, or died while sending."""
    now = utcnow()
    stmt = (
        select(Notification.id)
        .where(
            or_(
                (Notification.email_state == EmailState.pending)
                & (Notification.created_at < now - EMAIL_SWEEP_AFTER)
                & or_(
                    Notification.emailed_at.is_(None),
                    Notification.emailed_at < now - EMAIL_RETRY_AFTER,
                ),
                (Notification.email_state == EmailState.sending)
                & (Notification.emailed_at < now - EMAIL_CLAIM),
            )
        )
        .order_by(Notification.created_at)
        .limit(limit)
    )
    due = [str(i) for i in (await ctx.session.execute(stmt)).scalars()]
    for start in range(0, len(due), EMAIL_BATCH):
        ctx.enqueue("notifications.send_emails", notification_ids=due[start : start + EMAIL_BATCH])


# --- webhooks ------------------------------------------------------------------------------------


@job("webhooks.deliver", every_seconds=30)
async def deliver(ctx: JobContext, limit: int = webhooks.BATCH) -> None:
    """Send the due webhook deliveries: claimed (skipping those another run holds), sent, noted."""
    session = ctx.session
    settings = ctx.state.settings
    now = utcnow()
    stmt = (
        select(WebhookDelivery)
        .where(webhooks.due(now))
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list((await session.execute(stmt)).scalars())
    if not claimed:
        return
    # Long enough for every attempt of the batch to time out; a run that dies frees them then.
    lease = now + timedelta(seconds=60 + len(claimed) * 2 * settings.webhook_timeout_seconds)
    for delivery in claimed:
        delivery.status = DeliveryStatus.sending
        delivery.next_attempt_at = lease
    subscriptions = {
        s.id: s
        for s in (
            await session.execute(
                select(WebhookSubscription).where(
                    WebhookSubscription.id.in_({d.subscription_id for d in claimed})
                )
            )
        ).scalars()
    }
    found = await session.execute(select(Event).where(Event.id.in_({d.event_id for d in claimed})))
    event_by_id = {e.id: e for e in found.scalars()}
    await session.commit()

    async with webhooks.http_client(settings) as http:
        for delivery in claimed:
            subscription = subscriptions.get(delivery.subscription_id)
            event = event_by_id.get(delivery.event_id)
            attempted_at = utcnow()
            if subscription is None or event is None or not subscription.is_active:
                # Kept as a dead letter: a manual retry sends it once the webhook is active again.
                delivery.status = DeliveryStatus.dead
                delivery.last_error = "the webhook is inactive"
                delivery.last_attempt_at = attempted_at
                continue
            outcome = await webhooks.attempt(
                http,
                settings=settings,
                url=subscription.url,
                secret=ctx.state.security.decrypt(subscription.secret_encrypted),
                event=event,
                delivery_id=delivery.id,
            )
            webhooks.record(
                delivery, outcome, now=attempted_at, max_attempts=settings.webhook_max_attempts
            )
            if not outcome.ok:
                log.info(
                    "webhook_attempt_failed",
                    delivery=str(delivery.id),
                    attempts=delivery.attempts,
                    status=str(delivery.status),
                    error=outcome.error,
                )


# --- certification reminders ---------------------------------------------------------------------


def reminder_threshold(days_left: int) -> int | None:
    """The reminder due for a licence expiring in ``days_left`` days (the nearest threshold)."""
    if days_left < 0:
        return None
    passed = [days for days in REMINDER_DAYS if days_left <= days]
    return min(passed) if passed else None


@job("workforce.certification_reminders", cron="0 11 * * *")
async def certification_reminders(ctx: JobContext, today: str | None = None) -> None:
    """Remind of licences expiring within 60, 30 and 7 days: once per licence and threshold."""
    session = ctx.session
    day = date.fromisoformat(today) if today else licences.licence_day()
    horizon = day + timedelta(days=max(REMINDER_DAYS))
    stmt = (
        select(TechnicianCertification)
        .join(User, User.id == TechnicianCertification.technician_id)
        .where(
            TechnicianCertification.expires_date >= day,
            TechnicianCertification.expires_date <= horizon,
            User.is_active.is_(True),
        )
        .order_by(TechnicianCertification.expires_date, TechnicianCertification.id)
    )
    certifications = list((await session.execute(stmt)).scalars())
    if not certifications:
        return
    already = await session.execute(
        select(
            CertificationReminder.certification_id,
            CertificationReminder.expires_date,
            CertificationReminder.days_before,
        ).where(CertificationReminder.certification_id.in_([c.id for c in certifications]))
    )
    sent = {tuple(row) for row in already.all()}
    for cert in certifications:
        assert cert.expires_date is not None
        days_left = (cert.expires_date - day).days
        threshold = reminder_threshold(days_left)
        if threshold is None or (cert.id, cert.expires_date, threshold) in sent:
            continue
        try:
            async with session.begin_nested():
                event = events.emit(
                    session,
                    "certification.expiring",
                    client_id=cert.client_id,
                    vendor_id=cert.vendor_id,
                    subject_type="certification",
                    subject_id=cert.id,
                    payload={
                        "technician_id": str(cert.technician_id),
                        "cert_type": cert.cert_type,
                        "number": cert.number,
                        "expires_date": cert.expires_date.isoformat(),
                        "days_left": days_left,
                        "days_before": threshold,
                    },
                )
                session.add(
                    CertificationReminder(
                        certification_id=cert.id,
                        expires_date=cert.expires_date,
                        days_before=threshold,
                        event_id=event.id,
                    )
                )
        except IntegrityError:
            # Another run sent this reminder meanwhile (its dispatch message finds no event).
            continue
