"""Report schedules: who may make them, when they run (in their time zone, across daylight
saving changes), the period each run covers, and exactly one delivery per period."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import row_scope
from kerops.core.enums import ClientRole, LocalRole, ReportFrequency, UserRole
from kerops.notifications.models import Notification
from kerops.operations.models import ServiceTicket
from kerops.reports import schedules
from kerops.reports.models import Report, ReportDelivery, ReportSchedule
from tests.automation.helpers import run_job
from tests.fixtures.assets import make_ticket
from tests.fixtures.factories import (
    Account,
    Runner,
    add_member,
    make_locale,
    make_user,
    register_owner,
)
from tests.fixtures.plans import set_timezone

API = "/api/v1"
WEEKLY: dict[str, Any] = {
    "name": "Semana de tickets",
    "kind": "tickets",
    "format": "xlsx",
    "period": "last_week",
    "frequency": "weekly",
    "weekday": 0,
    "time_of_day": "08:00",
}


def _body(people: list[uuid.UUID], **changes: Any) -> dict[str, Any]:
    return {**WEEKLY, "recipients": [str(r) for r in people], **changes}


def _create(client: TestClient, who: Account, **changes: Any) -> Any:
    return client.post(
        f"{API}/report-schedules", json=_body([who.id], **changes), headers=who.headers
    )


# --- when and what ------------------------------------------------------------------------------


def test_next_run_is_the_weekday_at_the_local_time() -> None:
    # Tuesday 2026-12-08 12:00 UTC = 09:00 in Santiago (summer, UTC-3): the next Monday 08:00
    # local is 2026-12-14 11:00 UTC.
    after = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    found = schedules.next_run(ReportFrequency.weekly, 0, None, time(8), "America/Santiago", after)
    assert found == datetime(2026, 12, 14, 11, 0, tzinfo=UTC)
    # Monthly on the 1st at 07:30: 2027-01-01 10:30 UTC.
    monthly = schedules.next_run(
        ReportFrequency.monthly, None, 1, time(7, 30), "America/Santiago", after
    )
    assert monthly == datetime(2027, 1, 1, 10, 30, tzinfo=UTC)


def test_a_run_keeps_its_local_time_across_the_daylight_saving_change() -> None:
    # Chile leaves summer time on Sunday 2026-04-05 (00:00 -03 becomes 23:00 -04 the day
    # before). Monday 08:00 before the change is 11:00 UTC, after it 12:00 UTC.
    before = schedules.next_run(
        ReportFrequency.weekly,
        0,
        None,
        time(8),
        "America/Santiago",
        datetime(2026, 3, 28, tzinfo=UTC),
    )
    after = schedules.next_run(ReportFrequency.weekly, 0, None, time(8), "America/Santiago", before)
    assert before == datetime(2026, 3, 30, 11, 0, tzinfo=UTC)
    assert after == datetime(2026, 4, 6, 12, 0, tzinfo=UTC)


def test_a_time_the_clock_skips_runs_as_the_clock_reads_after_the_jump() -> None:
    # On Sunday 2026-09-06 Santiago's clocks jump from 00:00 to 01:00: 00:30 does not exist
    # that day. It runs at 04:30 UTC (01:30 local, -03), once.
    found = schedules.next_run(
        ReportFrequency.weekly,
        6,
        None,
        time(0, 30),
        "America/Santiago",
        datetime(2026, 9, 5, 12, 0, tzinfo=UTC),
    )
    assert found == datetime(2026, 9, 6, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("last_week", date(2026, 11, 30), date(2026, 12, 6)),  # run on Tuesday 2026-12-08
        ("last_month", date(2026, 11, 1), date(2026, 11, 30)),
        ("last_7_days", date(2026, 12, 1), date(2026, 12, 7)),
        ("last_30_days", date(2026, 11, 8), date(2026, 12, 7)),
    ],
)
def test_the_period_a_run_covers(period: str, first: date, last: date) -> None:
    assert schedules.period_for(period, date(2026, 12, 8)) == (first, last)


def test_last_month_of_a_run_in_january_is_december() -> None:
    assert schedules.period_for("last_month", date(2027, 1, 1)) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
    )


# --- the schedules ------------------------------------------------------------------------------


def test_an_owner_schedules_a_report_for_its_people(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)
    set_timezone(run, locale_id, "America/Punta_Arenas")
    made = _create(client, owner, locale_id=str(locale_id))
    assert made.status_code == 201, made.text
    body = made.json()
    # The locale's time zone when none is given; the first run is a Monday at 08:00 there.
    assert body["timezone"] == "America/Punta_Arenas"
    next_run = datetime.fromisoformat(body["next_run_at"])
    assert next_run > datetime.now(UTC)
    local = next_run.astimezone(schedules.ZoneInfo("America/Punta_Arenas"))
    assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)
    listed = client.get(f"{API}/report-schedules", headers=owner.headers).json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]


def test_recipients_must_be_the_clients_own_people(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    stranger = register_owner(client)
    refused = client.post(
        f"{API}/report-schedules",
        json=_body([owner.id, stranger.id]),
        headers=owner.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "recipient_not_member"
    assert refused.json()["errors"][0]["loc"] == ["body", "recipients", 1]
    assert _count(run, ReportSchedule) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"weekday": None},  # weekly without its day
        {"day_of_month": 3},  # weekly with a monthly day
        {"frequency": "monthly"},  # monthly with a weekday, without its day
        {"frequency": "monthly", "weekday": None, "day_of_month": 29},  # not in every month
        {"time_of_day": "08:00:30"},
        {"timezone": "Mars/Olympus"},
        {"period": "last_year"},
        {"format": "docx"},
        {"recipients": []},
        {"kind": "Tickets; DROP"},
    ],
)
def test_a_bad_schedule_is_refused_and_writes_nothing(
    client: TestClient, run: Runner, changes: dict[str, Any]
) -> None:
    owner = register_owner(client)
    refused = _create(client, owner, **changes)
    assert refused.status_code == 422, refused.text
    assert _count(run, ReportSchedule) == 0


def test_only_admins_and_client_wide_managers_schedule(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)
    admin = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=owner.client_id,
        client_role=ClientRole.admin,
    )
    site_manager = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    add_member(run, owner.client_id, locale_id, site_manager.id, LocalRole.manager)
    assert _create(client, admin).status_code == 201
    refused = _create(client, site_manager)
    assert refused.status_code == 403
    assert refused.json()["code"] == "schedules_forbidden"
    listed = client.get(f"{API}/report-schedules", headers=site_manager.headers)
    assert listed.status_code == 403


def test_changing_when_moves_the_next_run(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    made = _create(client, owner).json()
    changed = client.patch(
        f"{API}/report-schedules/{made['id']}",
        json={"frequency": "monthly", "day_of_month": 1, "time_of_day": "07:00"},
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["weekday"] is None and body["day_of_month"] == 1
    local = datetime.fromisoformat(body["next_run_at"]).astimezone(
        schedules.ZoneInfo("America/Santiago")
    )
    assert (local.day, local.hour) == (1, 7)
    paused = client.patch(
        f"{API}/report-schedules/{made['id']}", json={"is_active": False}, headers=owner.headers
    )
    assert paused.json()["next_run_at"] is None
    bad = client.patch(
        f"{API}/report-schedules/{made['id']}", json={"weekday": 2}, headers=owner.headers
    )
    assert bad.status_code == 422
    assert (
        client.get(f"{API}/report-schedules/{made['id']}", headers=owner.headers).json()["weekday"]
        is None
    )


def test_another_clients_schedule_is_not_found(client: TestClient, run: Runner) -> None:
    owner, other = register_owner(client), register_owner(client)
    made = _create(client, owner).json()
    path = f"{API}/report-schedules/{made['id']}"
    assert client.get(path, headers=other.headers).status_code == 404
    assert client.patch(path, json={"name": "x"}, headers=other.headers).status_code == 404
    assert client.delete(path, headers=other.headers).status_code == 404
    assert client.delete(path, headers=owner.headers).status_code == 204


# --- running them -------------------------------------------------------------------------------


def _due(run: Runner, schedule_id: str, at: datetime) -> None:
    async def set_due(session: AsyncSession) -> None:
        schedule = await session.get(ReportSchedule, uuid.UUID(schedule_id))
        assert schedule is not None
        schedule.next_run_at = at

    run(set_due)


def _count(run: Runner, model: Any) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())

    result: int = run(count)
    return result


def test_a_due_schedule_makes_one_report_of_its_period(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    made = _create(client, owner).json()
    # Due on Monday 2026-12-07 08:00 in Santiago (11:00 UTC); the job runs a minute later.
    _due(run, made["id"], datetime(2026, 12, 7, 11, 0, tzinfo=UTC))
    run_job(client, "reports.schedules", now="2026-12-07T11:01:00+00:00")
    run_job(client, "reports.schedules", now="2026-12-07T11:02:00+00:00")

    async def check(session: AsyncSession) -> None:
        deliveries = (await session.execute(select(ReportDelivery))).scalars().all()
        assert [(d.period_start, d.period_end) for d in deliveries] == [
            (date(2026, 11, 30), date(2026, 12, 6))
        ]
        report = await session.get(Report, deliveries[0].report_id)
        assert report is not None
        assert (report.kind, report.format, report.schedule_id) == (
            "tickets",
            "xlsx",
            uuid.UUID(made["id"]),
        )
        # The period's local days as the list's own filters (Santiago is UTC-3 in summer).
        assert report.filters["created_from"] == "2026-11-30T03:00:00+00:00"
        assert report.filters["created_to"] == "2026-12-07T02:59:59.999999+00:00"
        schedule = await session.get(ReportSchedule, uuid.UUID(made["id"]))
        assert schedule is not None and schedule.next_run_at is not None
        # The next run is the Monday after the job's clock.
        assert schedule.next_run_at.astimezone(UTC) == datetime(2026, 12, 14, 11, 0, tzinfo=UTC)

    run(check)


def test_two_schedulers_at_once_deliver_the_period_once(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    made = _create(client, owner).json()
    at = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    _due(run, made["id"], at)
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def scheduler() -> int:
        async with state.db.sessions() as session:
            with row_scope.platform():
                made_now = await schedules.run_due(session, now=at)
                await asyncio.sleep(0.05)  # both hold their transaction open together
                await session.commit()
                return len(made_now)

    async def both() -> list[int]:
        return list(await asyncio.gather(scheduler(), scheduler(), return_exceptions=False))

    outcomes = client.portal.call(both)  # type: ignore[union-attr]
    assert sorted(outcomes) == [0, 1]
    assert _count(run, ReportDelivery) == 1 and _count(run, Report) == 1


# --- sending them -------------------------------------------------------------------------------


def _ticket_at(run: Runner, client_id: uuid.UUID, locale_id: uuid.UUID, at: datetime) -> None:
    ticket_id = make_ticket(run, client_id, locale_id, None)

    async def backdate(session: AsyncSession) -> None:
        ticket = await session.get(ServiceTicket, ticket_id)
        assert ticket is not None
        ticket.created_at = at

    run(backdate)


def _notifications(run: Runner) -> list[Notification]:
    async def read(session: AsyncSession) -> list[Notification]:
        found = await session.execute(select(Notification).order_by(Notification.user_id))
        return list(found.scalars())

    result: list[Notification] = run(read)
    return result


def _outcomes(run: Runner) -> list[str]:
    async def read(session: AsyncSession) -> list[str]:
        return list((await session.execute(select(ReportDelivery.outcome))).scalars())

    result: list[str] = run(read)
    return result


def test_a_scheduled_report_reaches_its_recipients_once(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    admin = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=owner.client_id,
        client_role=ClientRole.admin,
    )
    locale_id = make_locale(run, owner.client_id)
    # One ticket in last week (Wednesday 2026-12-02), one the week before.
    _ticket_at(run, owner.client_id, locale_id, datetime(2026, 12, 2, 15, tzinfo=UTC))
    _ticket_at(run, owner.client_id, locale_id, datetime(2026, 11, 25, 15, tzinfo=UTC))
    body = {**_body([owner.id, admin.id]), "format": "csv"}
    made = client.post(f"{API}/report-schedules", json=body, headers=owner.headers)
    assert made.status_code == 201, made.text
    _due(run, made.json()["id"], datetime(2026, 12, 7, 11, 0, tzinfo=UTC))
    outbox = client.app.state.kerops.sender.outbox  # type: ignore[attr-defined]
    before = len(outbox)
    run_job(client, "reports.schedules", now="2026-12-07T11:01:00+00:00")
    run_job(client, "reports.schedules", now="2026-12-07T11:02:00+00:00")

    async def report(session: AsyncSession) -> Report:
        return (await session.execute(select(Report))).scalar_one()

    made_report: Report = run(report)
    assert made_report.status.value == "done" and made_report.row_count == 1
    assert _outcomes(run) == ["sent"]
    notes = _notifications(run)
    assert sorted(n.user_id for n in notes) == sorted([owner.id, admin.id])
    assert all(n.link and n.link.startswith("/api/v1/report-files/") for n in notes)
    mails = outbox[before:]
    assert sorted(m.to for m in mails) == sorted([owner.email, admin.email])
    # The link in the mail downloads the file without signing in: one ticket, the header.
    link = notes[0].link
    assert link is not None
    downloaded = client.get(link)
    assert downloaded.status_code == 200
    assert len(downloaded.text.strip().splitlines()) == 2


def test_an_empty_period_is_skipped_when_asked(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    made = _create(client, owner, skip_empty=True, format="csv").json()
    _due(run, made["id"], datetime(2026, 12, 7, 11, 0, tzinfo=UTC))
    run_job(client, "reports.schedules", now="2026-12-07T11:01:00+00:00")
    assert _outcomes(run) == ["skipped"]
    assert _notifications(run) == []


def test_a_schedule_takes_a_known_kind_and_its_lists_filters(
    client: TestClient, run: Runner
) -> None:
    owner = register_owner(client)
    unknown = _create(client, owner, kind="invoices")
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_kind"
    bad_filter = _create(client, owner, filters={"colour": "red"})
    assert bad_filter.status_code == 422
    assert bad_filter.json()["errors"][0]["type"] == "unknown_filter"
    period_filter = _create(client, owner, filters={"created_from": "2026-01-01T00:00:00Z"})
    assert period_filter.status_code == 422
    assert period_filter.json()["errors"][0]["type"] == "period_filter"
    good = _create(client, owner, filters={"priority": "high", "status": ["open"]})
    assert good.status_code == 201, good.text
    assert good.json()["filters"] == {"priority": "high", "status": ["open"]}
    assert _count(run, ReportSchedule) == 1
