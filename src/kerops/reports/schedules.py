"""Report schedules: a report a client sends itself every week or month, to its own people.

When: a weekly schedule runs on its ``weekday`` (0 = Monday), a monthly one on its
``day_of_month`` (1-28, so every month has it), at ``time_of_day`` in its ``timezone``. A time
that a daylight-saving change skips that day runs as the clock reads it after the change (00:30
on the day Chile's clocks jump from 00:00 to 01:00 runs at 01:30); a time the change repeats
runs once, the first time. ``next_run_at`` holds the next run, in UTC.

What: the run's period, in local dates of the day it runs (``period_for``): ``last_week``
(Monday to Sunday before the run's week), ``last_month`` (the calendar month before),
``last_7_days`` and ``last_30_days`` (ending the day before).

Exactly once: each run writes the schedule's delivery of its period; (schedule, period start)
is unique, so a second scheduler running the same schedule at the same time writes nothing and
sends nothing. A run that was missed (the service was down) runs once when it is back, for the
period of the run it missed; the next run is then the next one after now.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import ReportFrequency, ReportStatus
from kerops.core.errors import Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.jobs import enqueue
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import utcnow
from kerops.reports.lists import LISTS
from kerops.reports.models import Report, ReportDelivery, ReportSchedule
from kerops.reports.schedule_schemas import ScheduleCreate, ScheduleUpdate, check_days
from kerops.reports.service import parse_filters
from kerops.tenancy.models import Locale
from kerops.users.models import Client, User

DEFAULT_TIMEZONE = "America/Santiago"
SCHEDULE_SORTS = {"name": ReportSchedule.name, "next_run_at": ReportSchedule.next_run_at}
DELIVERY_SORTS = {"period_start": ReportDelivery.period_start}
#: How many due schedules one run of the job takes (the next run takes the rest).
BATCH = 200


# --- when, and what period ---------------------------------------------------------------------


def next_run(
    frequency: ReportFrequency,
    weekday: int | None,
    day_of_month: int | None,
    time_of_day: Any,
    timezone: str,
    after: datetime,
) -> datetime:
    """The first run strictly after ``after`` (UTC)."""
    zone = ZoneInfo(timezone)
    day = after.astimezone(zone).date()
    while True:
        if (frequency is ReportFrequency.weekly and day.weekday() == weekday) or (
            frequency is ReportFrequency.monthly and day.day == day_of_month
        ):
            # fold=0: a repeated time is its first; a skipped one is read with the offset
            # before the change, so it lands as far past the change as it was past midnight.
            candidate = datetime.combine(day, time_of_day, zone).astimezone(UTC)
            if candidate > after:
                return candidate
        day += timedelta(days=1)


def period_for(period: str, run_day: date) -> tuple[date, date]:
    """The first and last local dates a run on ``run_day`` covers."""
    if period == "last_week":
        start = run_day - timedelta(days=run_day.weekday() + 7)
        return start, start + timedelta(days=6)
    if period == "last_month":
        end = run_day.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    days = 7 if period == "last_7_days" else 30
    return run_day - timedelta(days=days), run_day - timedelta(days=1)


def _next_of(schedule: ReportSchedule, after: datetime) -> datetime:
    return next_run(
        schedule.frequency,
        schedule.weekday,
        schedule.day_of_month,
        schedule.time_of_day,
        schedule.timezone,
        after,
    )


# --- the schedules ------------------------------------------------------------------------------


def _managed_client(principal: Principal) -> uuid.UUID:
    """The caller's client, when the caller is one of its admins or client-wide managers."""
    if principal.client_id is None or not principal.reaches_every_locale("write"):
        raise Forbidden(
            gettext("Only the client's administrators and managers may schedule reports."),
            code="schedules_forbidden",
        )
    return principal.client_id


async def _check_recipients(
    session: AsyncSession, client_id: uuid.UUID, recipients: Iterable[uuid.UUID]
) -> list[str]:
    wanted = list(dict.fromkeys(recipients))
    found = set(
        (
            await session.execute(
                select(User.id).where(
                    User.id.in_(wanted), User.client_id == client_id, User.is_active.is_(True)
                )
            )
        ).scalars()
    )
    errors = [
        field_error(
            ("body", "recipients", index),
            gettext("not an active member of the client"),
            "recipient_not_member",
        )
        for index, user_id in enumerate(wanted)
        if user_id not in found
    ]
    if errors:
        raise Unprocessable(
            gettext("A scheduled report goes only to the client's own people; see errors."),
            errors=errors,
            code="recipient_not_member",
        )
    return [str(user_id) for user_id in wanted]


async def _locale_timezone(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, locale_id: uuid.UUID
) -> str:
    locale = await access.get_scoped_row(session, Locale, locale_id, principal)
    if locale["client_id"] != client_id:
        raise NotFound(access.not_found_detail(Locale))
    return str(locale["timezone"])


def _check_contents(kind: str, filters: dict[str, Any]) -> dict[str, Any]:
    """The kind a report takes (a registered list) and its filters as the list reads them (422
    ``unknown_kind``, ``unknown_filter`` or a bad value), without the period's own filters."""
    export = LISTS.get(kind)
    if export is None:
        raise Unprocessable(
            gettext("No list exports as {kind}.", kind=kind),
            errors=[field_error(("body", "kind"), gettext("unknown report kind"), "unknown_kind")],
            code="unknown_kind",
        )
    if export.period is not None:
        taken = sorted(set(filters) & set(export.period))
        if taken:
            raise Unprocessable(
                gettext("A schedule's period sets {names}.", names=", ".join(taken)),
                errors=[
                    field_error(
                        ("body", "filters", name), gettext("set by the period"), "period_filter"
                    )
                    for name in taken
                ],
            )
    parsed = parse_filters(export, filters)
    return parsed.model_dump(mode="json", exclude_none=True)


async def create_schedule(
    session: AsyncSession, *, principal: Principal, data: ScheduleCreate
) -> ReportSchedule:
    """Add a schedule to the caller's client; its first run is the next one after now."""
    client_id = _managed_client(principal)
    filters = _check_contents(data.kind, data.filters)
    timezone = data.timezone
    if data.locale_id is not None:
        local = await _locale_timezone(session, principal, client_id, data.locale_id)
        timezone = timezone or local
    values = data.model_dump(exclude={"recipients", "timezone", "filters"})
    schedule = ReportSchedule(
        client_id=client_id,
        **values,
        filters=filters,
        timezone=timezone or DEFAULT_TIMEZONE,
        recipients=await _check_recipients(session, client_id, data.recipients),
        created_by_id=principal.user_id,
    )
    schedule.next_run_at = _next_of(schedule, utcnow()) if schedule.is_active else None
    session.add(schedule)
    await session.flush()
    return schedule


async def update_schedule(
    session: AsyncSession, *, principal: Principal, schedule_id: uuid.UUID, data: ScheduleUpdate
) -> ReportSchedule:
    """Change a schedule; a change of when it runs (or its reactivation) moves its next run."""
    _managed_client(principal)
    schedule = await access.get_for_write(session, ReportSchedule, schedule_id, principal)
    changes = data.model_dump(exclude_unset=True)
    frequency = changes.get("frequency", schedule.frequency)
    # A change of frequency drops the other frequency's day unless given again.
    if "frequency" in changes and frequency is not schedule.frequency:
        changes.setdefault("weekday", None)
        changes.setdefault("day_of_month", None)
    try:
        check_days(
            frequency,
            changes.get("weekday", schedule.weekday),
            changes.get("day_of_month", schedule.day_of_month),
        )
    except ValueError as refused:
        message = getattr(refused, "message", str(refused))
        raise Unprocessable(
            gettext(message),
            errors=[field_error(("body", "frequency"), gettext(message), "value_error")],
        ) from None
    if "kind" in changes or "filters" in changes:
        changes["filters"] = _check_contents(
            changes.get("kind", schedule.kind), changes.get("filters", schedule.filters)
        )
    if "recipients" in changes:
        changes["recipients"] = await _check_recipients(
            session, schedule.client_id, data.recipients or []
        )
    timing = {"frequency", "weekday", "day_of_month", "time_of_day", "timezone", "is_active"}
    for key, value in changes.items():
        setattr(schedule, key, value)
    if timing & changes.keys():
        schedule.next_run_at = _next_of(schedule, utcnow()) if schedule.is_active else None
    await session.flush()
    return schedule


async def delete_schedule(
    session: AsyncSession, *, principal: Principal, schedule_id: uuid.UUID
) -> None:
    """Delete a schedule (its reports stay, no longer linked to it)."""
    _managed_client(principal)
    schedule = await access.get_for_write(session, ReportSchedule, schedule_id, principal)
    await session.delete(schedule)
    await session.flush()


async def list_schedules(
    reader: Reader, *, params: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    """The schedules the caller reads."""
    _managed_client(reader.principal)
    return await reader.page(
        reader.rows(ReportSchedule),
        params,
        sort_fields=SCHEDULE_SORTS,
        id_column=ReportSchedule.id,
        default_sort="name",
    )


async def list_deliveries(
    reader: Reader, *, schedule_id: uuid.UUID, params: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    """The periods a schedule was sent (or skipped) for, latest first by default."""
    _managed_client(reader.principal)
    async with reader.sharing():  # the schedule and the page: one connection
        await reader.row(ReportSchedule, schedule_id)
        return await reader.page(
            reader.rows(ReportDelivery).where(ReportDelivery.schedule_id == schedule_id),
            params,
            sort_fields=DELIVERY_SORTS,
            id_column=ReportDelivery.id,
            default_sort="-period_start",
        )


# --- running them -------------------------------------------------------------------------------


async def run_due(session: AsyncSession, *, now: datetime) -> list[Report]:
    """Run every schedule due by ``now``: a delivery of its period and the report to make
    (once per period, whoever else runs it), then its next run. Returns the reports made."""
    # Each with its client's language (a report's when the schedule names none).
    due = (
        select(ReportSchedule, Client.language)
        .join(Client, Client.id == ReportSchedule.client_id)
        .where(ReportSchedule.is_active.is_(True), ReportSchedule.next_run_at <= now)
        .order_by(ReportSchedule.next_run_at, ReportSchedule.id)
        .limit(BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=ReportSchedule)
    made: list[Report] = []
    for schedule, client_language in (await session.execute(due)).all():
        run_at = schedule.next_run_at
        assert run_at is not None
        run_day = run_at.astimezone(ZoneInfo(schedule.timezone)).date()
        first, last = period_for(schedule.period, run_day)
        language = schedule.language or client_language or "es-CL"
        report = await _deliver(session, schedule, first, last, language)
        if report is not None:
            made.append(report)
        schedule.next_run_at = _next_of(schedule, max(now, run_at))
    await session.flush()
    return made


async def _deliver(
    session: AsyncSession, schedule: ReportSchedule, first: date, last: date, language: str
) -> Report | None:
    """The period's delivery and its report; None when the period was delivered already."""
    delivery = ReportDelivery(
        client_id=schedule.client_id,
        schedule_id=schedule.id,
        period_start=first,
        period_end=last,
        outcome="queued",
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(delivery)
            await session.flush()
    except IntegrityError:
        return None
    filters = dict(schedule.filters)
    export = LISTS.get(schedule.kind)
    if export is not None and export.period is not None:
        # The period's local days, as instants: from its first midnight to the last moment
        # before the midnight after it, in the schedule's zone.
        zone = ZoneInfo(schedule.timezone)
        start = datetime.combine(first, time(0), zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
        since, until = export.period
        filters[since] = start.isoformat()
        filters[until] = (end - timedelta(microseconds=1)).isoformat()
    report = Report(
        client_id=schedule.client_id,
        requested_by_id=schedule.created_by_id,
        schedule_id=schedule.id,
        kind=schedule.kind,
        format=schedule.format,
        filters=filters,
        language=language,
        timezone=schedule.timezone,
        status=ReportStatus.queued,
    )
    session.add(report)
    await session.flush()
    delivery.report_id = report.id
    enqueue(session, "reports.generate", report_id=str(report.id))
    return report
