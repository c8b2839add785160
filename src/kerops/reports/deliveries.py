"""A scheduled report, once its file is written: its period's delivery says how it went, and
its recipients get it (in-app, and by e-mail through the notifications outbox).

It runs once per report, in the job that wrote the file (``reports.generate`` takes a queued
report only once), so each period is sent once. A period with no rows is skipped, sending
nothing, when its schedule asks so; a report that could not be made is ``failed`` and sends
nothing (its schedule's next period is made anew).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import formats, sync_log
from kerops.core.enums import ReportStatus
from kerops.core.i18n import DEFAULT_LANGUAGE, gettext, supported
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.notifications.models import EmailState, Notification
from kerops.reports.models import Report, ReportDelivery, ReportSchedule
from kerops.users.models import User


async def finish(
    session: AsyncSession, report: Report, *, link: str, email: bool
) -> list[uuid.UUID]:
    """Settle the delivery of a scheduled ``report`` and tell its recipients; returns the ids of
    the notifications to e-mail. ``link`` is the file's signed download path."""
    delivery = (
        await session.execute(
            select(ReportDelivery).where(ReportDelivery.report_id == report.id).with_for_update()
        )
    ).scalar_one_or_none()
    if delivery is None or delivery.outcome != "queued":
        return []
    schedule = await session.get(ReportSchedule, delivery.schedule_id)
    if report.status is not ReportStatus.done or schedule is None:
        delivery.outcome = "failed"
        return []
    if not report.row_count and schedule.skip_empty:
        delivery.outcome = "skipped"
        return []
    delivery.outcome = "sent"
    people = (
        await session.execute(
            select(User).where(
                User.id.in_([uuid.UUID(r) for r in schedule.recipients]),
                User.client_id == schedule.client_id,
                User.is_active.is_(True),
            )
        )
    ).scalars()
    now = utcnow()
    event = Event(
        id=uuid7(),
        client_id=report.client_id,
        type="report.scheduled",
        subject_type="report",
        subject_id=report.id,
        payload={"report_id": str(report.id), "schedule_id": str(schedule.id), "actor_id": None},
        created_at=now,
        dispatched_at=now,  # told here, to the schedule's recipients
        attempts=0,
    )
    session.add(event)
    written: list[Notification] = []
    for person in people:
        language = supported(person.language) or report.language or DEFAULT_LANGUAGE
        notification = Notification(
            id=uuid7(),
            user_id=person.id,
            client_id=report.client_id,
            event_id=event.id,
            type="report.scheduled",
            title=gettext(
                "{name}: {first} to {last}",
                language,
                name=schedule.name,
                first=formats.format_day(delivery.period_start, language),
                last=formats.format_day(delivery.period_end, language),
            )[:200],
            body=gettext(
                "{rows} rows, {format}. Download it before {expires}.",
                language,
                rows=report.row_count or 0,
                format=report.format.upper(),
                expires=formats.format_datetime(
                    report.expires_at or now, language, timezone=person.timezone
                ),
            ),
            subject_type="report",
            subject_id=report.id,
            link=link,
            created_at=now,
            updated_at=now,
            email_state=EmailState.pending if email and person.email else EmailState.none,
        )
        written.append(notification)
    session.add_all(written)
    sync_log.touched(session, Notification, [n.id for n in written])
    return [n.id for n in written if n.email_state is EmailState.pending]
