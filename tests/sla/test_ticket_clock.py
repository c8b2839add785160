"""The SLA clock of tickets: deadlines at creation (calendar and business time), pauses through
real transitions, the ``sla.check`` job (warnings and breaches exactly once, events, escalation)
and the list filters. Time is controlled: the job gets ``now``, pauses get past timestamps."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ClientRole, TicketStatus, UserRole
from kerops.events.models import Event
from kerops.operations import sla
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale
from tests.fixtures.factories import Account, Runner, make_user
from tests.fixtures.operations import create_ticket, move, set_ticket
from tests.fixtures.tenancy import Team, make_team
from tests.operations.test_sla_policies import create_policy

API = "/api/v1"
SANTIAGO = ZoneInfo("America/Santiago")
EVERY_DAY_9_TO_6 = {
    day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


def check(client: TestClient, now: datetime, **kwargs: Any) -> None:
    """Run the SLA check as the scheduler would, at ``now``."""
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run("sla.check", now=now.isoformat(), **kwargs))  # type: ignore[union-attr]


def sla_events(run: Runner) -> list[Event]:
    async def read(session: AsyncSession) -> list[Event]:
        stmt = select(Event).where(Event.type.like("sla.%")).order_by(Event.created_at, Event.id)
        return list((await session.execute(stmt)).scalars())

    result: list[Event] = run(read)
    return result


def load(run: Runner, ticket_id: str) -> ServiceTicket:
    async def read(session: AsyncSession) -> ServiceTicket:
        ticket = await session.get(ServiceTicket, uuid.UUID(ticket_id))
        assert ticket is not None
        return ticket

    result: ServiceTicket = run(read)
    return result


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def get(client: TestClient, account: Account, ticket_id: str) -> dict[str, Any]:
    response = client.get(f"{API}/tickets/{ticket_id}", headers=account.headers)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def in_progress(client: TestClient, run: Runner, team: Team, ticket_id: str) -> Account:
    """Walk a ticket to in_progress through real transitions; return its technician."""
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    set_ticket(run, ticket_id, technician_id=tech.id)
    for account, to in ((team.manager, "assigned"), (tech, "accepted"), (tech, "in_progress")):
        response = move(client, account, ticket_id, to)
        assert response.status_code == 200, response.text
    return tech


# --- deadlines when a ticket is raised -----------------------------------------------------------


def test_calendar_deadlines_and_warning_instants_at_creation(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    create_policy(client, team.owner, warning_percent=50)  # critical: 15 min / 120 min
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    created = at(ticket["created_at"])
    assert ticket["sla_clock"] == "calendar" and ticket["sla_paused_minutes"] == 0
    assert at(ticket["sla_response_due_at"]) == created + timedelta(minutes=15)
    assert at(ticket["sla_resolution_due_at"]) == created + timedelta(minutes=120)
    stored = load(run, ticket["id"])
    assert stored.sla_response_warn_at == created + timedelta(minutes=7, seconds=30)
    assert stored.sla_resolution_warn_at == created + timedelta(minutes=60)
    assert stored.sla_next_check_at == stored.sla_response_warn_at


def _next_open_date(day: date) -> date:
    while day in sla.public_holidays("CL", None, day.year):
        day += timedelta(days=1)
    return day


def test_business_deadlines_skip_closed_days_at_creation(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    today = datetime.now(SANTIAGO).date()
    closed = [str(today + timedelta(days=n)) for n in (-1, 0, 1)]
    patched = client.patch(
        f"{API}/locales/{team.locale1}",
        json={"business_hours": EVERY_DAY_9_TO_6, "closed_dates": closed},
        headers=team.owner.headers,
    )
    assert patched.status_code == 200, patched.text
    create_policy(client, team.owner, locale_id=str(team.locale1), clock="business")
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    assert ticket["sla_clock"] == "business"
    opens = _next_open_date(at(ticket["created_at"]).astimezone(SANTIAGO).date() + timedelta(2))
    response_due = at(ticket["sla_response_due_at"]).astimezone(SANTIAGO)
    resolution_due = at(ticket["sla_resolution_due_at"]).astimezone(SANTIAGO)
    assert (response_due.date(), response_due.time()) == (opens, time(9, 15))
    assert (resolution_due.date(), resolution_due.time()) == (opens, time(11, 0))
    # The other locale follows no business policy: calendar time.
    other = create_ticket(client, team.owner, team.locale2, priority="critical")
    assert other["sla_clock"] == "calendar"
    assert at(other["sla_response_due_at"]) - at(other["created_at"]) == timedelta(minutes=60)


# --- pauses --------------------------------------------------------------------------------------


def test_a_waiting_state_pauses_the_clock_and_moves_the_deadline_out(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, priority="high")
    tid = ticket["id"]
    tech = in_progress(client, run, team, tid)
    before = get(client, team.owner, tid)
    held = move(client, tech, tid, "waiting_parts", "Falta compresor").json()
    assert held["sla_paused_at"] is not None and held["sla_paused_minutes"] == 0
    assert load(run, tid).sla_next_check_at is None
    # The pause began 2 hours and 30 seconds ago (whole minutes count).
    set_ticket(run, tid, sla_paused_at=at(held["sla_paused_at"]) - timedelta(hours=2, seconds=30))
    resumed = move(client, tech, tid, "in_progress").json()
    assert resumed["sla_paused_at"] is None and resumed["sla_paused_minutes"] == 120
    moved = at(resumed["sla_resolution_due_at"]) - at(before["sla_resolution_due_at"])
    assert moved == timedelta(minutes=120)
    # Responded already: the response deadline stays where it was.
    assert resumed["sla_response_due_at"] == before["sla_response_due_at"]
    stored = load(run, tid)
    assert stored.sla_resolution_warn_at is not None
    assert stored.sla_next_check_at == stored.sla_resolution_warn_at
    # A second pause adds up.
    move(client, tech, tid, "on_hold", "Local cerrado")
    set_ticket(run, tid, sla_paused_at=datetime.now(UTC) - timedelta(minutes=30))
    again = move(client, tech, tid, "in_progress").json()
    assert again["sla_paused_minutes"] in (150, 151)


def test_a_business_clock_pause_counts_only_business_minutes(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    create_policy(client, team.owner, clock="business")
    ticket = create_ticket(client, team.requester, team.locale1, priority="low")
    tid = uuid.UUID(ticket["id"])
    # Paused Friday 27 November 2026 at 17:00 and resumed Monday 30 at 10:00 (Santiago).
    paused_at = datetime(2026, 11, 27, 17, 0, tzinfo=SANTIAGO).astimezone(UTC)
    resumed_at = datetime(2026, 11, 30, 10, 0, tzinfo=SANTIAGO).astimezone(UTC)

    async def pause_and_resume(session: AsyncSession) -> tuple[datetime, ServiceTicket]:
        stored = await session.get(ServiceTicket, tid)
        assert stored is not None and stored.sla_resolution_due_at is not None
        due = stored.sla_resolution_due_at
        stored.status = TicketStatus.on_hold
        await sla.record_status_change(session, stored, paused_at)
        assert stored.sla_paused_at == paused_at and stored.sla_next_check_at is None
        stored.status = TicketStatus.in_progress
        await sla.record_status_change(session, stored, resumed_at)
        locale = await session.get(Locale, stored.locale_id)
        assert locale is not None
        assert stored.sla_resolution_due_at == sla.business_calendar(locale).add(
            due, timedelta(minutes=120)
        )
        return due, stored

    _, stored = run(pause_and_resume)
    assert stored.sla_paused_minutes == 120  # 17:00-18:00 Friday, 09:00-10:00 Monday


def test_a_priority_change_recomputes_deadlines_with_the_pauses(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, priority="high")
    set_ticket(run, ticket["id"], sla_paused_minutes=45)
    patched = client.patch(
        f"{API}/tickets/{ticket['id']}", json={"priority": "critical"}, headers=team.owner.headers
    ).json()
    created = at(ticket["created_at"])
    assert at(patched["sla_response_due_at"]) == created + timedelta(minutes=60 + 45)
    assert at(patched["sla_resolution_due_at"]) == created + timedelta(minutes=240 + 45)
    stored = load(run, ticket["id"])
    assert stored.sla_next_check_at == created + timedelta(minutes=45 + 45)


# --- warnings and breaches -----------------------------------------------------------------------


def test_warning_and_breach_are_recorded_once_with_events(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    everywhere = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=team.client_id,
        client_role=ClientRole.manager,
    )
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    tid, created = ticket["id"], at(ticket["created_at"])  # default: 60 / 240 min, warn at 75 %
    check(client, created + timedelta(minutes=10))
    assert sla_events(run) == []
    warn_time = created + timedelta(minutes=46)
    for _ in range(2):
        check(client, warn_time)
    (warning,) = sla_events(run)
    assert (warning.type, warning.subject_type, warning.subject_id) == (
        "sla.warning",
        "ticket",
        uuid.UUID(tid),
    )
    assert warning.client_id == team.client_id and warning.locale_id == team.locale1
    assert warning.payload["target"] == "response"
    assert at(warning.payload["due_at"]) == created + timedelta(minutes=60)
    body = get(client, team.owner, tid)
    assert at(body["sla_response_warned_at"]) == warn_time
    assert body["sla_response_breached"] is False
    for _ in range(2):
        check(client, created + timedelta(minutes=61))
    events = sla_events(run)
    assert [e.type for e in events] == ["sla.warning", "sla.breached"]
    breach = events[1].payload
    # The locale's managers: its member manager and the client-wide manager.
    assert breach["target"] == "response"
    assert breach["escalate_to"] == sorted([str(team.manager.id), str(everywhere.id)])
    assert get(client, team.owner, tid)["sla_response_breached"] is True
    # Both resolution thresholds have passed by the next check: the breach alone is announced.
    for _ in range(2):
        check(client, created + timedelta(hours=5))
    events = sla_events(run)
    assert [(e.type, e.payload["target"]) for e in events] == [
        ("sla.warning", "response"),
        ("sla.breached", "response"),
        ("sla.breached", "resolution"),
    ]
    body = get(client, team.owner, tid)
    assert body["sla_resolution_breached"] is True and body["sla_resolution_warned_at"]
    assert load(run, tid).sla_next_check_at is None


def test_a_response_in_time_meets_the_response_target(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    in_progress(client, run, team, ticket["id"])
    created = at(ticket["created_at"])
    check(client, created + timedelta(minutes=190))
    (warning,) = sla_events(run)
    assert (warning.type, warning.payload["target"]) == ("sla.warning", "resolution")
    assert get(client, team.owner, ticket["id"])["sla_response_breached"] is False


def test_a_late_response_is_still_a_breach(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    past = datetime.now(UTC) - timedelta(minutes=5)
    set_ticket(run, ticket["id"], sla_response_due_at=past, sla_response_warn_at=past)
    in_progress(client, run, team, ticket["id"])
    check(client, datetime.now(UTC))
    events = sla_events(run)
    assert [(e.type, e.payload["target"]) for e in events] == [("sla.breached", "response")]


def test_cancelled_and_paused_tickets_are_not_checked(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    cancelled = create_ticket(client, team.requester, team.locale1, priority="critical")
    response = move(client, team.manager, cancelled["id"], "cancelled", "Duplicado")
    assert response.status_code == 200
    paused = create_ticket(client, team.requester, team.locale1, priority="critical")
    tech = in_progress(client, run, team, paused["id"])
    assert move(client, tech, paused["id"], "on_hold", "Sin acceso").status_code == 200
    check(client, datetime.now(UTC) + timedelta(days=30))
    assert sla_events(run) == []
    assert load(run, cancelled["id"]).sla_next_check_at is None


def test_resolving_in_time_stops_the_clock(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    tech = in_progress(client, run, team, ticket["id"])
    assert move(client, tech, ticket["id"], "resolved").status_code == 200
    check(client, datetime.now(UTC) + timedelta(days=30))
    assert sla_events(run) == []
    # Reopened: the fix did not hold, and the resolution target is measured again.
    assert move(client, team.requester, ticket["id"], "reopened", "Sigue").status_code == 200
    check(client, datetime.now(UTC) + timedelta(days=30))
    assert [e.payload["target"] for e in sla_events(run)] == ["resolution"]


def test_filters_by_breach_and_warning(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    late = create_ticket(client, team.requester, team.locale1, priority="critical")
    warned = create_ticket(client, team.requester, team.locale1, priority="critical")
    calm = create_ticket(client, team.requester, team.locale1, priority="low")
    set_ticket(run, late["id"], sla_resolution_breached=True)
    set_ticket(run, warned["id"], sla_response_warned_at=datetime.now(UTC))

    def ids(**params: Any) -> set[str]:
        response = client.get(f"{API}/tickets", params=params, headers=team.owner.headers)
        assert response.status_code == 200
        return {t["id"] for t in response.json()["items"]}

    assert ids(sla_breached="true") == {late["id"]}
    assert ids(sla_breached="false") == {warned["id"], calm["id"]}
    assert ids(sla_warned="true") == {warned["id"]}
    assert ids(sla_warned="false") == {late["id"], calm["id"]}
    assert ids(sla_warned="true", sla_breached="true") == set()
    bad = client.get(f"{API}/tickets", params={"sla_breached": "maybe"}, headers=team.owner.headers)
    assert bad.status_code == 422


def test_two_concurrent_checks_record_each_warning_once(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    raised = [
        create_ticket(client, team.requester, team.locale1, priority="critical") for _ in range(12)
    ]
    now = max(at(t["created_at"]) for t in raised) + timedelta(minutes=50)
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]

    async def both() -> None:
        await asyncio.gather(
            *(jobs.run("sla.check", now=now.isoformat(), batch_size=3) for _ in range(2))
        )

    client.portal.call(both)  # type: ignore[union-attr]
    events = sla_events(run)
    assert len(events) == 12 and {e.type for e in events} == {"sla.warning"}
    assert {e.subject_id for e in events} == {uuid.UUID(t["id"]) for t in raised}


def test_a_run_takes_bounded_batches(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    raised = [
        create_ticket(client, team.requester, team.locale1, priority="critical") for _ in range(5)
    ]
    now = max(at(t["created_at"]) for t in raised) + timedelta(minutes=50)
    check(client, now, batch_size=2, max_batches=2)
    assert len(sla_events(run)) == 4
    check(client, now, batch_size=2, max_batches=2)
    assert len(sla_events(run)) == 5
