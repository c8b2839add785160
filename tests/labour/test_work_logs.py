"""Work logs: manual entries and timers, overlaps, edit windows, who logs for whom, and the
ticket's labour cost as the sum of its logs."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus, UserRole
from kerops.events.models import Event
from kerops.labour.service import cost_of, minutes_between
from tests.fixtures.assets import make_ticket
from tests.fixtures.factories import Runner, make_user, make_vendor
from tests.fixtures.labour import (
    API,
    add_rate,
    hours_ago,
    labour_cost,
    log_time,
    make_crew,
    shift_log,
)
from tests.fixtures.operations import set_ticket


def _code(response: Any) -> str:
    code: str = response.json()["code"]
    return code


# --- arithmetic ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "rate", "cost"),
    [
        (60, 15_000, 15_000),
        (90, 15_000, 22_500),
        (1, 90, 2),  # 1.5 → 2: half up
        (1, 30, 1),  # 0.5 → 1
        (1, 29, 0),  # 0.48 → 0
        (7, 10_001, 1_167),  # 1166.78 → 1167
        (3, 10, 1),  # 0.5 → 1
        (1440, 0, 0),
    ],
)
def test_cost_is_minutes_times_rate_over_60_half_up(minutes: int, rate: int, cost: int) -> None:
    assert cost_of(minutes, rate) == cost


def test_minutes_between_rounds_half_a_minute_up() -> None:
    start = hours_ago(5)
    assert minutes_between(start, start + timedelta(minutes=45)) == 45
    assert minutes_between(start, start + timedelta(minutes=45, seconds=29)) == 45
    assert minutes_between(start, start + timedelta(minutes=45, seconds=30)) == 46


# --- manual entries and the ticket's sum ---------------------------------------------------------


def test_entries_are_costed_and_the_ticket_sums_them(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    add_rate(client, crew.owner, 15_000, technician_id=crew.technician.id)
    start = hours_ago(6)
    first = log_time(client, crew.technician, crew.ticket, start, start + timedelta(minutes=90))
    assert first.status_code == 201, first.text
    log = first.json()
    assert (log["minutes"], log["hourly_rate_minor"], log["cost_minor"]) == (90, 15_000, 22_500)
    assert (log["technician_id"], log["currency"]) == (str(crew.technician.id), "CLP")
    second = log_time(client, crew.technician, crew.ticket, start + timedelta(hours=2), minutes=21)
    assert second.status_code == 201, second.text
    assert second.json()["cost_minor"] == 5_250
    assert second.json()["ended_at"].startswith(
        (start + timedelta(hours=2, minutes=21)).isoformat()[:19]
    )
    assert labour_cost(run, crew.ticket) == 27_750
    shown = client.get(f"{API}/tickets/{crew.ticket}", headers=crew.owner.headers).json()
    assert (shown["labour_cost_minor"], shown["total_cost_minor"]) == (27_750, 27_750)

    # An edit moves the sum; a delete takes its cost away.
    changed = client.patch(
        f"{API}/work-logs/{log['id']}", json={"minutes": 60}, headers=crew.technician.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["cost_minor"] == 15_000
    assert labour_cost(run, crew.ticket) == 20_250
    gone = client.delete(f"{API}/work-logs/{log['id']}", headers=crew.owner.headers)
    assert gone.status_code == 204
    assert labour_cost(run, crew.ticket) == 5_250
    assert client.get(f"{API}/work-logs/{log['id']}", headers=crew.owner.headers).status_code == 404


def test_a_ticket_update_no_longer_takes_a_typed_labour_cost(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    url = f"{API}/tickets/{crew.ticket}"
    typed = client.patch(url, json={"labour_cost_minor": 1_000}, headers=crew.owner.headers)
    assert typed.status_code == 422 and _code(typed) == "validation_error"
    assert labour_cost(run, crew.ticket) == 0


def test_each_change_emits_an_event_with_what_analytics_needs(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    add_rate(client, crew.owner, 6_000, technician_id=crew.technician.id)
    start = hours_ago(3)
    log = log_time(client, crew.technician, crew.ticket, start, minutes=30).json()
    client.patch(f"{API}/work-logs/{log['id']}", json={"minutes": 40}, headers=crew.owner.headers)
    client.delete(f"{API}/work-logs/{log['id']}", headers=crew.owner.headers)

    async def emitted(session: AsyncSession) -> list[Event]:
        stmt = select(Event).where(Event.subject_id == uuid.UUID(log["id"])).order_by(Event.id)
        return list((await session.execute(stmt)).scalars())

    found = run(emitted)
    assert [e.type for e in found] == ["work_log.created", "work_log.updated", "work_log.deleted"]
    created = found[0]
    assert (created.client_id, created.locale_id) == (crew.team.client_id, crew.team.locale1)
    assert created.payload["ticket_id"] == str(crew.ticket)
    assert created.payload["technician_id"] == str(crew.technician.id)
    assert (created.payload["minutes"], created.payload["cost_minor"]) == (30, 3_000)
    assert created.payload["started_at"] == start.isoformat()
    assert found[1].payload["cost_minor"] == 4_000


@pytest.mark.parametrize(
    "body",
    [
        {"minutes": 30, "ended_at": "2026-01-01T10:00:00Z"},  # both ends
        {},  # neither
        {"ended_at": "2026-01-01T07:00:00Z"},  # before the start
        {"ended_at": "2026-01-02T08:01:00Z"},  # longer than a day
        {"minutes": 0},
        {"minutes": 1441},
        {"minutes": 30, "category": "lunch"},
        {"minutes": 30, "labour_cost_minor": 5},
        {"minutes": 30, "notes": "x" * 2001},
    ],
)
def test_a_bad_entry_is_a_422_and_changes_nothing(
    client: TestClient, run: Runner, body: dict[str, Any]
) -> None:
    crew = make_crew(client, run)
    response = client.post(
        f"{API}/tickets/{crew.ticket}/work-logs",
        json={"started_at": "2026-01-01T08:00:00Z", **body},
        headers=crew.owner.headers,
    )
    assert response.status_code == 422, response.text
    assert _code(response) == "validation_error"
    listed = client.get(f"{API}/tickets/{crew.ticket}/work-logs", headers=crew.owner.headers)
    assert listed.json()["items"] == []


def test_an_entry_ending_in_the_future_is_refused(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    response = log_time(client, crew.technician, crew.ticket, hours_ago(0.5), minutes=60)
    assert response.status_code == 422 and _code(response) == "work_log_in_future"


# --- who logs for whom ---------------------------------------------------------------------------


def test_a_technician_logs_only_their_own_time(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    other = make_user(client, run, role=UserRole.technician, client_id=crew.team.client_id)
    start = hours_ago(4)
    refused = log_time(
        client, crew.technician, crew.ticket, start, minutes=30, technician_id=other.id
    )
    assert refused.status_code == 403 and _code(refused) == "work_log_other_technician"
    own = log_time(
        client, crew.technician, crew.ticket, start, minutes=30, technician_id=crew.technician.id
    )
    assert own.status_code == 201


def test_a_manager_logs_for_anyone_working_on_the_client(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    team = crew.team
    contractor = make_vendor(run, team.client_id, "Climatización Sur")
    vendor_tech = make_user(client, run, role=UserRole.technician, vendor_id=contractor)
    stranger_vendor = make_vendor(run, None, "Otra Red")
    stranger = make_user(client, run, role=UserRole.technician, vendor_id=stranger_vendor)
    start = hours_ago(30)  # a manager enters time of any day
    for who in (crew.technician, vendor_tech):
        done = log_time(client, team.manager, crew.ticket, start, minutes=30, technician_id=who.id)
        assert done.status_code == 201, done.text
        assert done.json()["created_by_id"] == str(team.manager.id)
        start += timedelta(hours=1)
    assert done.json()["vendor_id"] == str(contractor)
    # Someone not working on the client is not found; a person who is no technician is a 422.
    nobody = log_time(client, team.owner, crew.ticket, start, minutes=5, technician_id=stranger.id)
    assert nobody.status_code == 404
    viewer = log_time(
        client, team.owner, crew.ticket, start, minutes=5, technician_id=team.viewer.id
    )
    assert viewer.status_code == 422 and _code(viewer) == "not_a_technician"
    own = log_time(client, team.owner, crew.ticket, start, minutes=5)
    assert own.status_code == 422 and _code(own) == "not_a_technician"


def test_readers_and_outsiders_of_the_ticket(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    team = crew.team
    start = hours_ago(5)
    body = {"started_at": start.isoformat(), "minutes": 10}
    url = f"{API}/tickets/{crew.ticket}/work-logs"
    log = client.post(url, json=body, headers=crew.technician.headers).json()
    # A reader of the ticket reads its logs but logs nothing; others do not find it.
    assert client.post(url, json=body, headers=team.viewer.headers).status_code == 403
    assert client.post(url, json=body, headers=team.manager2.headers).status_code == 404
    assert [i["id"] for i in client.get(url, headers=team.viewer.headers).json()["items"]] == [
        log["id"]
    ]
    assert client.get(url, headers=team.manager2.headers).status_code == 404
    one = f"{API}/work-logs/{log['id']}"
    assert client.get(one, headers=team.manager2.headers).status_code == 404
    assert client.patch(one, json={"notes": "x"}, headers=team.viewer.headers).status_code == 403
    assert client.delete(one, headers=team.manager2.headers).status_code == 404
    assert client.get(f"{API}/work-logs", headers=team.manager2.headers).json()["items"] == []


def test_a_technician_keeps_reading_their_time_after_the_ticket_moves_on(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    other = make_user(client, run, role=UserRole.technician, client_id=crew.team.client_id)
    log = log_time(client, crew.technician, crew.ticket, hours_ago(3), minutes=15).json()
    set_ticket(run, crew.ticket, technician_id=other.id)
    own = client.get(f"{API}/work-logs/{log['id']}", headers=crew.technician.headers)
    assert own.status_code == 200
    # ... but no longer changes it (the ticket is not theirs), and the new technician reads it.
    change = client.patch(
        f"{API}/work-logs/{log['id']}", json={"notes": "x"}, headers=crew.technician.headers
    )
    assert change.status_code == 403
    assert client.get(f"{API}/work-logs/{log['id']}", headers=other.headers).status_code == 200


def test_a_vendor_admin_reads_their_peoples_time(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    vendor = make_vendor(run, crew.team.client_id, "Eléctrica Norte")
    admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    worker = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    mine = log_time(
        client, crew.owner, crew.ticket, hours_ago(4), minutes=20, technician_id=worker.id
    ).json()
    log_time(client, crew.technician, crew.ticket, hours_ago(6), minutes=20)
    listed = client.get(f"{API}/work-logs", headers=admin.headers).json()["items"]
    assert [item["id"] for item in listed] == [mine["id"]]


# --- timers --------------------------------------------------------------------------------------


def test_a_timer_runs_once_per_technician_and_stops_with_its_cost(
    client: TestClient, run: Runner
) -> None:
    crew = make_crew(client, run)
    add_rate(client, crew.owner, 12_000, technician_id=crew.technician.id)
    other_ticket = make_ticket(
        run, crew.team.client_id, crew.team.locale1, None, technician_id=crew.technician.id
    )
    h = crew.technician.headers
    started = client.post(f"{API}/tickets/{crew.ticket}/work-logs/start", headers=h)
    assert started.status_code == 201, started.text
    log = started.json()
    assert (log["ended_at"], log["minutes"], log["cost_minor"]) == (None, None, 0)
    assert log["hourly_rate_minor"] == 12_000
    # One running timer per technician, in all tickets.
    for ticket in (crew.ticket, other_ticket):
        again = client.post(f"{API}/tickets/{ticket}/work-logs/start", headers=h)
        assert again.status_code == 409 and _code(again) == "work_log_running"
        assert again.json()["running_work_log_id"] == log["id"]
    elsewhere = client.post(f"{API}/tickets/{other_ticket}/work-logs/stop", headers=h)
    assert elsewhere.status_code == 409 and _code(elsewhere) == "work_log_not_running"
    running = client.get(f"{API}/work-logs", params={"running": "true"}, headers=h).json()
    assert [item["id"] for item in running["items"]] == [log["id"]]

    shift_log(run, log["id"], started_at=hours_ago(0.75))  # started 45 minutes ago
    stopped = client.post(
        f"{API}/tickets/{crew.ticket}/work-logs/stop", json={"notes": "Listo"}, headers=h
    )
    assert stopped.status_code == 200, stopped.text
    done = stopped.json()
    assert (done["minutes"], done["cost_minor"], done["notes"]) == (45, 9_000, "Listo")
    assert labour_cost(run, crew.ticket) == 9_000
    again = client.post(f"{API}/tickets/{crew.ticket}/work-logs/stop", headers=h)
    assert again.status_code == 409 and _code(again) == "work_log_not_running"
    # Stopped, a new one starts.
    assert (
        client.post(f"{API}/tickets/{other_ticket}/work-logs/start", headers=h).status_code == 201
    )


def test_a_manager_starts_and_stops_a_technicians_timer(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    body = {"technician_id": str(crew.technician.id), "category": "travel"}
    url = f"{API}/tickets/{crew.ticket}/work-logs"
    started = client.post(f"{url}/start", json=body, headers=crew.team.manager.headers)
    assert started.status_code == 201, started.text
    assert started.json()["category"] == "travel"
    own = client.post(f"{url}/start", headers=crew.team.manager.headers)
    assert own.status_code == 422 and _code(own) == "not_a_technician"
    # The technician's own stop finds the timer the manager started.
    assert client.post(f"{url}/stop", headers=crew.technician.headers).status_code == 200


@pytest.mark.parametrize("status", [TicketStatus.completed, TicketStatus.cancelled])
def test_no_timer_starts_on_a_closed_ticket(
    client: TestClient, run: Runner, status: TicketStatus
) -> None:
    crew = make_crew(client, run)
    set_ticket(run, crew.ticket, status=status)
    url = f"{API}/tickets/{crew.ticket}/work-logs/start"
    refused = client.post(url, headers=crew.technician.headers)
    assert refused.status_code == 409 and _code(refused) == "ticket_closed"
    assert client.get(f"{API}/work-logs", headers=crew.owner.headers).json()["items"] == []


def test_a_timer_stops_on_a_ticket_closed_meanwhile(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    url = f"{API}/tickets/{crew.ticket}/work-logs"
    log = client.post(f"{url}/start", headers=crew.technician.headers).json()
    set_ticket(run, crew.ticket, status=TicketStatus.completed)
    shift_log(run, log["id"], started_at=hours_ago(1))
    stopped = client.post(f"{url}/stop", headers=crew.technician.headers)
    assert stopped.status_code == 200 and stopped.json()["minutes"] == 60


def test_a_running_log_takes_no_end_by_patch(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    url = f"{API}/tickets/{crew.ticket}/work-logs"
    log = client.post(f"{url}/start", headers=crew.technician.headers).json()
    refused = client.patch(
        f"{API}/work-logs/{log['id']}", json={"minutes": 30}, headers=crew.owner.headers
    )
    assert refused.status_code == 409 and _code(refused) == "work_log_running"
    notes = client.patch(
        f"{API}/work-logs/{log['id']}", json={"notes": "Esperando"}, headers=crew.owner.headers
    )
    assert notes.status_code == 200 and notes.json()["ended_at"] is None
    # Its start moves back within the technician's day, not further, nor into the future.
    url = f"{API}/work-logs/{log['id']}"
    h = crew.technician.headers
    earlier = client.patch(url, json={"started_at": hours_ago(2).isoformat()}, headers=h)
    assert earlier.status_code == 200 and earlier.json()["ended_at"] is None
    too_early = client.patch(url, json={"started_at": hours_ago(30).isoformat()}, headers=h)
    assert too_early.status_code == 403 and _code(too_early) == "work_log_edit_window"
    ahead = client.patch(url, json={"started_at": hours_ago(-1).isoformat()}, headers=h)
    assert ahead.status_code == 422


# --- overlaps ------------------------------------------------------------------------------------


def test_a_technicians_logs_never_overlap(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    other_ticket = make_ticket(
        run, crew.team.client_id, crew.team.locale1, None, technician_id=crew.technician.id
    )
    t = crew.technician
    eight = hours_ago(10)
    first = log_time(client, t, crew.ticket, eight, eight + timedelta(hours=2)).json()
    # Overlapping on any ticket is refused; touching ends are fine.
    for start, end in (
        (eight + timedelta(hours=1), eight + timedelta(hours=3)),
        (eight - timedelta(hours=1), eight + timedelta(minutes=1)),
        (eight + timedelta(minutes=30), eight + timedelta(minutes=40)),
    ):
        refused = log_time(client, t, other_ticket, start, end)
        assert refused.status_code == 409 and _code(refused) == "work_log_overlap"
        assert refused.json()["overlapping_work_log_id"] == first["id"]
    touching = log_time(client, t, other_ticket, eight + timedelta(hours=2), minutes=60)
    assert touching.status_code == 201
    # An edit that would overlap is refused too; another technician's time is theirs.
    moved = client.patch(
        f"{API}/work-logs/{touching.json()['id']}",
        json={"started_at": (eight + timedelta(hours=1)).isoformat()},
        headers=t.headers,
    )
    assert moved.status_code == 409 and _code(moved) == "work_log_overlap"
    colleague = make_user(client, run, role=UserRole.technician, client_id=crew.team.client_id)
    same_time = log_time(
        client, crew.owner, crew.ticket, eight, minutes=120, technician_id=colleague.id
    )
    assert same_time.status_code == 201


def test_a_running_timer_overlaps_entries_after_its_start(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    log = client.post(
        f"{API}/tickets/{crew.ticket}/work-logs/start", headers=crew.technician.headers
    ).json()
    started = hours_ago(2)
    shift_log(run, log["id"], started_at=started)
    inside = log_time(
        client, crew.technician, crew.ticket, started + timedelta(hours=1), minutes=30
    )
    assert inside.status_code == 409 and _code(inside) == "work_log_overlap"
    before = log_time(
        client, crew.technician, crew.ticket, started - timedelta(hours=1), minutes=60
    )
    assert before.status_code == 201


# --- edit windows --------------------------------------------------------------------------------


def test_a_technician_edits_within_a_day_managers_any_time(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    t = crew.technician
    recent = log_time(client, t, crew.ticket, hours_ago(3), minutes=60).json()
    edited = client.patch(
        f"{API}/work-logs/{recent['id']}", json={"billable": False}, headers=t.headers
    )
    assert edited.status_code == 200 and edited.json()["billable"] is False
    # A log that ended more than 24 hours ago: the technician neither changes nor deletes it.
    old = log_time(
        client, crew.owner, crew.ticket, hours_ago(30), minutes=60, technician_id=t.id
    ).json()
    url = f"{API}/work-logs/{old['id']}"
    refused = client.patch(url, json={"notes": "tarde"}, headers=t.headers)
    assert refused.status_code == 403 and _code(refused) == "work_log_edit_window"
    deleted = client.delete(url, headers=t.headers)
    assert deleted.status_code == 403 and _code(deleted) == "work_log_edit_window"
    by_manager = client.patch(url, json={"notes": "corregido"}, headers=crew.team.manager.headers)
    assert by_manager.status_code == 200 and by_manager.json()["notes"] == "corregido"
    # Nor does the technician enter time that ended that long ago, or move a log there.
    late = log_time(client, t, crew.ticket, hours_ago(40), minutes=30)
    assert late.status_code == 403 and _code(late) == "work_log_edit_window"
    back = client.patch(
        f"{API}/work-logs/{recent['id']}",
        json={"started_at": hours_ago(50).isoformat(), "minutes": 30},
        headers=t.headers,
    )
    assert back.status_code == 403 and _code(back) == "work_log_edit_window"


def test_a_technician_changes_only_their_own_logs(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    colleague = make_user(client, run, role=UserRole.technician, client_id=crew.team.client_id)
    theirs = log_time(
        client, crew.owner, crew.ticket, hours_ago(2), minutes=30, technician_id=colleague.id
    ).json()
    url = f"{API}/work-logs/{theirs['id']}"
    refused = client.patch(url, json={"notes": "mío"}, headers=crew.technician.headers)
    assert refused.status_code == 403 and _code(refused) == "work_log_not_yours"
    assert client.get(url, headers=crew.technician.headers).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"minutes": 30, "ended_at": "2026-01-01T10:00:00Z"},
        {"minutes": None},
        {"category": None},
        {"minutes": 0},
        {"technician_id": str(uuid.uuid4())},
        {"cost_minor": 1},
    ],
)
def test_a_bad_edit_is_a_422(client: TestClient, run: Runner, body: dict[str, Any]) -> None:
    crew = make_crew(client, run)
    log = log_time(client, crew.technician, crew.ticket, hours_ago(2), minutes=30).json()
    response = client.patch(f"{API}/work-logs/{log['id']}", json=body, headers=crew.owner.headers)
    assert response.status_code == 422, response.text
    assert client.get(f"{API}/work-logs/{log['id']}", headers=crew.owner.headers).json() == log


def test_an_edit_ending_before_its_start_is_a_422(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    log = log_time(client, crew.technician, crew.ticket, hours_ago(2), minutes=30).json()
    response = client.patch(
        f"{API}/work-logs/{log['id']}",
        json={"ended_at": hours_ago(3).isoformat()},
        headers=crew.owner.headers,
    )
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == [
        "body",
        "ended_at",
    ]


# --- the list ------------------------------------------------------------------------------------


def test_the_list_filters_and_pages(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    t = crew.technician
    second_ticket = make_ticket(
        run, crew.team.client_id, crew.team.locale2, None, technician_id=t.id
    )
    made = []
    for i, (ticket, category) in enumerate(
        [(crew.ticket, "work"), (crew.ticket, "travel"), (second_ticket, "waiting")]
    ):
        response = log_time(client, t, ticket, hours_ago(10 - 2 * i), minutes=30, category=category)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    owner = crew.owner.headers

    def ids(**params: Any) -> list[str]:
        response = client.get(f"{API}/work-logs", params=params, headers=owner)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == made[::-1]  # newest start first
    assert ids(sort="started_at") == made
    assert ids(category="travel") == [made[1]]
    assert ids(ticket_id=str(second_ticket)) == [made[2]]
    assert ids(locale_id=str(crew.team.locale1), sort="started_at") == made[:2]
    assert ids(technician_id=str(t.id), billable="false") == []
    assert ids(started_from=hours_ago(9).isoformat(), started_to=hours_ago(7).isoformat()) == [
        made[1]
    ]
    # Keyset pages of one.
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1, "sort": "started_at"}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"{API}/work-logs", params=params, headers=owner).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == made
    bad = client.get(f"{API}/work-logs", params={"started_from": "2026-01-01"}, headers=owner)
    assert bad.status_code == 422
