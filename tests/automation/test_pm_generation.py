"""Preventive maintenance: one ticket per due occurrence of a plan, with the plan's details."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import PlanOccurrence
from kerops.assets.recurrence import add_months
from kerops.core.enums import TicketStatus, UserRole
from kerops.events.models import Event
from kerops.operations.models import TicketTask
from tests.automation.helpers import (
    INLINE_JOBS,
    Site,
    generate,
    make_site,
    plan_row,
    plan_tickets,
    set_plan,
    set_readings,
)
from tests.fixtures.factories import Runner, make_user
from tests.fixtures.operations import move
from tests.fixtures.plans import create_plan, date_plan_body, meter_plan_body, plans_url

SANTIAGO = ZoneInfo("America/Santiago")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return INLINE_JOBS


@pytest.fixture
def site(client: TestClient, run: Runner) -> Site:
    return make_site(client, run)


def _in_days(days: int) -> str:
    return (datetime.now(SANTIAGO).date() + timedelta(days=days)).isoformat()


def _due(plan: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(plan["next_due_at"])


def _events(run: Runner, event_type: str) -> list[Event]:
    async def read(session: AsyncSession) -> list[Event]:
        stmt = select(Event).where(Event.type == event_type).order_by(Event.created_at)
        return list((await session.execute(stmt)).scalars())

    result: list[Event] = run(read)
    return result


def test_a_date_plan_opens_its_ticket_when_its_lead_time_starts(
    client: TestClient, run: Runner, site: Site
) -> None:
    plan = create_plan(
        client,
        site.owner,
        site.asset_id,
        date_plan_body(
            name="Revisión mensual del chiller",
            start_date=_in_days(10),
            lead_time_days=3,
            default_priority="high",
            required_skill="hvac",
        ),
    )
    due = _due(plan)
    generate(client, due - timedelta(days=3, minutes=1))
    assert plan_tickets(run, plan["id"]) == []

    generate(client, due - timedelta(days=3))
    [ticket] = plan_tickets(run, plan["id"])
    assert ticket.source == "plan"
    assert ticket.maintenance_plan_id == uuid.UUID(plan["id"])
    assert ticket.asset_id == site.asset_id
    # Written once, in the client's language (es-CL).
    assert ticket.title.startswith("Mantención preventiva: Revisión mensual del chiller — ")
    assert ticket.description.startswith("Mantención preventiva de ")
    assert re.search(r"\(vence el \d{2}-\d{2}-\d{4} \d{2}:\d{2}\)\.", ticket.description)
    assert ticket.priority == "high"
    assert ticket.required_skill == "hvac"
    assert ticket.status is TicketStatus.open
    assert ticket.planned_at == due
    # The SLA runs from the due time, not from the early generation.
    assert ticket.sla_response_due_at is not None and ticket.sla_response_due_at > due
    # The generated ticket was diagnosed by the job it queued.
    assert ticket.ai_diagnosed_at is not None
    # The plan moved on to its next occurrence (monthly: the same day next month).
    following = plan_row(run, plan["id"]).next_due_at
    assert following is not None
    local_due = due.astimezone(SANTIAGO).date()
    assert following.astimezone(SANTIAGO).date() == add_months(local_due, 1)
    [event] = _events(run, "plan.generated")
    assert event.subject_id == ticket.id
    assert event.payload["plan_id"] == plan["id"]


def test_repeated_runs_open_exactly_one_ticket_per_occurrence(
    client: TestClient, run: Runner, site: Site
) -> None:
    plan = create_plan(client, site.owner, site.asset_id, date_plan_body(start_date=_in_days(2)))
    due = _due(plan)
    for _ in range(3):
        generate(client, due)
    assert len(plan_tickets(run, plan["id"])) == 1
    # A plan put back on an occurrence that already has its ticket (a stale copy, a re-delivered
    # job) does not open a second one: the occurrence is unique in the database.
    set_plan(run, plan["id"], next_due_at=due)
    generate(client, due)
    assert len(plan_tickets(run, plan["id"])) == 1
    assert plan_row(run, plan["id"]).next_due_at != due


def test_two_concurrent_runs_open_one_ticket_per_plan(
    client: TestClient, run: Runner, site: Site
) -> None:
    plans = [
        create_plan(client, site.owner, site.asset_id, date_plan_body(start_date=_in_days(1)))
        for _ in range(8)
    ]
    now = max(_due(p) for p in plans)
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]

    async def both() -> None:
        await asyncio.gather(
            jobs.run("pm.generate", now=now.isoformat()),
            jobs.run("pm.generate", now=now.isoformat()),
        )

    client.portal.call(both)  # type: ignore[union-attr]
    for plan in plans:
        assert len(plan_tickets(run, plan["id"])) == 1

    async def occurrences(session: AsyncSession) -> int:
        return int(
            (await session.execute(select(func.count()).select_from(PlanOccurrence))).scalar_one()
        )

    assert run(occurrences) == len(plans)


def test_the_checklist_becomes_tasks_and_the_default_assignee_gets_the_ticket(
    client: TestClient, run: Runner, site: Site
) -> None:
    technician = make_user(
        client, run, role=UserRole.technician, client_id=site.client_id, skills=["hvac"]
    )
    checklist = [
        {"label": "Revisar filtros", "kind": "check"},
        {"label": "Presión de succión (psi)", "kind": "number", "min": 60, "max": 80},
        {"label": "Observaciones", "kind": "text"},
        {"label": "Prueba de arranque", "kind": "pass_fail"},
    ]
    plan = create_plan(
        client,
        site.owner,
        site.asset_id,
        date_plan_body(
            start_date=_in_days(1),
            checklist_template=checklist,
            default_assignee_id=str(technician.id),
        ),
    )
    generate(client, _due(plan))
    [ticket] = plan_tickets(run, plan["id"])
    assert ticket.status is TicketStatus.assigned
    assert ticket.technician_id == technician.id

    async def tasks(session: AsyncSession) -> list[TicketTask]:
        stmt = select(TicketTask).where(TicketTask.ticket_id == ticket.id)
        return list((await session.execute(stmt.order_by(TicketTask.position))).scalars())

    found = run(tasks)
    assert [(t.label, t.kind) for t in found] == [(i["label"], i["kind"]) for i in checklist]
    assert (found[1].min_value, found[1].max_value) == (60, 80)
    assert not any(t.is_done for t in found)
    # The technician sees the ticket through the API.
    response = client.get(f"/api/v1/tickets/{ticket.id}", headers=technician.headers)
    assert response.status_code == 200


def test_inactive_plans_are_skipped(client: TestClient, run: Runner, site: Site) -> None:
    plan = create_plan(
        client, site.owner, site.asset_id, date_plan_body(start_date=_in_days(1), is_active=False)
    )
    generate(client, _due(plan) + timedelta(days=1))
    assert plan_tickets(run, plan["id"]) == []


def test_a_meter_plan_opens_its_ticket_when_the_reading_reaches_the_threshold(
    client: TestClient, run: Runner, site: Site
) -> None:
    set_readings(run, site.asset_id, {"hours": 100})
    plan = create_plan(
        client, site.owner, site.asset_id, meter_plan_body(meter_name="hours", meter_interval=500)
    )
    assert plan["next_meter_due"] == 600
    now = datetime.now(UTC)
    generate(client, now)
    assert plan_tickets(run, plan["id"]) == []

    set_readings(run, site.asset_id, {"hours": {"value": 612.5}})
    generate(client, now)
    generate(client, now)
    [ticket] = plan_tickets(run, plan["id"])
    assert ticket.source == "plan"
    assert "hours llegó a 600" in ticket.description
    assert plan_row(run, plan["id"]).next_meter_due == 1100

    # A jump over several thresholds is one occurrence; the next threshold is above the reading.
    set_readings(run, site.asset_id, {"hours": 2300})
    generate(client, now)
    assert len(plan_tickets(run, plan["id"])) == 2
    assert plan_row(run, plan["id"]).next_meter_due == 2600


def test_a_completion_plan_waits_for_its_ticket_and_restarts_from_the_completion(
    client: TestClient, run: Runner, site: Site
) -> None:
    technician = make_user(client, run, role=UserRole.technician, client_id=site.client_id)
    plan = create_plan(
        client,
        site.owner,
        site.asset_id,
        date_plan_body(
            interval_unit="week",
            anchor="completion",
            start_date=_in_days(1),
            default_assignee_id=str(technician.id),
        ),
    )
    due = _due(plan)
    generate(client, due)
    [ticket] = plan_tickets(run, plan["id"])
    assert plan_row(run, plan["id"]).next_due_at is None
    generate(client, due + timedelta(days=30))
    assert len(plan_tickets(run, plan["id"])) == 1

    for account, status in (
        (technician, "accepted"),
        (technician, "in_progress"),
        (technician, "resolved"),
        (site.owner, "completed"),
    ):
        response = move(client, account, ticket.id, status)
        assert response.status_code == 200, response.text
    completed_at = datetime.fromisoformat(response.json()["completed_at"])
    stored = plan_row(run, plan["id"])
    assert stored.last_completed_at == completed_at
    assert stored.next_due_at is not None
    local = stored.next_due_at.astimezone(SANTIAGO)
    assert local.date() == completed_at.astimezone(SANTIAGO).date() + timedelta(days=7)
    assert (local.hour, local.minute) == (8, 0)


def test_a_plan_whose_tickets_are_never_started_is_flagged(
    client: TestClient, run: Runner, site: Site
) -> None:
    plan = create_plan(
        client,
        site.owner,
        site.asset_id,
        date_plan_body(interval_unit="day", start_date=_in_days(1)),
    )
    due = _due(plan)
    for day in range(3):
        generate(client, due + timedelta(days=day))
    assert plan_row(run, plan["id"]).neglected_since is None
    generate(client, due + timedelta(days=3))
    assert len(plan_tickets(run, plan["id"])) == 4
    response = client.get(plans_url(site.asset_id, plan["id"]), headers=site.owner.headers)
    body = response.json()
    assert body["neglected_since"] is not None
    assert "nunca se iniciaron" in body["neglect_reason"]
    [event] = _events(run, "plan.neglected")
    assert event.subject_id == uuid.UUID(plan["id"])


def test_due_times_follow_the_locales_wall_clock_across_a_dst_change(
    client: TestClient, run: Runner, site: Site
) -> None:
    """Chile leaves summer time on 2026-04-05: 08:00 local is 11:00 UTC before, 12:00 after."""
    plan = create_plan(
        client,
        site.owner,
        site.asset_id,
        date_plan_body(interval_unit="week", start_date="2026-03-30"),
    )
    before = datetime(2026, 3, 30, 11, 0, tzinfo=UTC)
    set_plan(run, plan["id"], next_due_at=before)
    generate(client, before)
    after = datetime(2026, 4, 6, 12, 0, tzinfo=UTC)
    assert plan_row(run, plan["id"]).next_due_at == after
    generate(client, after)
    first, second = plan_tickets(run, plan["id"])
    assert (first.planned_at, second.planned_at) == (before, after)
