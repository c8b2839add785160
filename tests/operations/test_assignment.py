"""Assigning technicians to tickets (who, whom, when eligible) and the ranked candidates."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ShiftType, TicketStatus, UserRole
from kerops.core.types import uuid7
from kerops.tenancy.models import Locale
from kerops.users.models import User, Vendor
from kerops.workforce.licences import licence_day, valid_on
from kerops.workforce.models import TechnicianShift
from tests.conftest import QueryCounter
from tests.fixtures.factories import Account, Runner, make_staff, make_user, make_vendor
from tests.fixtures.operations import add_certification, create_ticket, set_ticket
from tests.fixtures.tenancy import Team, make_team, walk
from tests.fixtures.workforce import at

API = "/api/v1"
AT = at(0, 10)  # Monday 10:00 UTC; the technicians below work 08:00-18:00 that day.


def _assign_url(ticket_id: str) -> str:
    return f"{API}/tickets/{ticket_id}/assign"


def _candidates_url(ticket_id: str) -> str:
    return f"{API}/tickets/{ticket_id}/candidates"


def _shift(run: Runner, tech: Account, starts: str, ends: str, kind: ShiftType) -> None:
    async def create(session: AsyncSession) -> None:
        session.add(
            TechnicianShift(
                id=uuid7(),
                technician_id=tech.id,
                client_id=tech.client_id,
                vendor_id=tech.vendor_id,
                shift_type=kind,
                starts_at=datetime.fromisoformat(starts),
                ends_at=datetime.fromisoformat(ends),
            )
        )

    run(create)


def _set_user(run: Runner, user_id: uuid.UUID, **values: Any) -> None:
    async def change(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == user_id).values(**values))

    run(change)


def _technician(
    client: TestClient,
    run: Runner,
    team: Team,
    *,
    skills: list[str] | None = None,
    working: bool = True,
    vendor_id: uuid.UUID | None = None,
    name: str | None = None,
) -> Account:
    """A technician of the team's client (or of ``vendor_id``), working on Monday 08-18."""
    tech = make_user(
        client,
        run,
        role=UserRole.technician,
        client_id=None if vendor_id else team.client_id,
        vendor_id=vendor_id,
        skills=skills,
    )
    if working:
        _shift(run, tech, at(0, 8), at(0, 18), ShiftType.working)
    if name:
        _set_user(run, tech.id, full_name=name)
    return tech


def _assign(
    client: TestClient, account: Account, ticket_id: str, tech: Account | uuid.UUID, **body: Any
) -> Any:
    tech_id = tech.id if isinstance(tech, Account) else tech
    payload = {"technician_id": str(tech_id), "at": AT, **body}
    return client.post(_assign_url(ticket_id), json=payload, headers=account.headers)


def _reasons(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "technician_not_eligible"
    assert [e["type"] for e in body["errors"]] == body["reasons"]
    reasons: list[str] = body["reasons"]
    return reasons


# --- assign --------------------------------------------------------------------------------------


def test_assigning_an_open_ticket_moves_it_to_assigned_with_history(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team, skills=["electricity"], name="Ana Rojas")
    ticket = create_ticket(client, team.requester, team.locale1, required_skill="electricity")
    response = _assign(client, team.manager, ticket["id"], tech)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "assigned"
    assert body["technician_id"] == str(tech.id)
    assert body["vendor_id"] is None
    history, _ = walk(client, team.owner, f"{API}/tickets/{ticket['id']}/history")
    last = history[-1]
    assert (last["from_status"], last["to_status"]) == ("open", "assigned")
    assert last["actor_id"] == str(team.manager.id)
    assert last["comment"] == "Asignado a Ana Rojas"


def test_reassigning_keeps_the_status_and_writes_no_history(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    first = _technician(client, run, team)
    second = _technician(client, run, team)
    ticket = create_ticket(client, team.requester, team.locale1)
    assert _assign(client, team.owner, ticket["id"], first).status_code == 200
    response = _assign(client, team.owner, ticket["id"], second)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "assigned"
    assert response.json()["technician_id"] == str(second.id)
    history, _ = walk(client, team.owner, f"{API}/tickets/{ticket['id']}/history")
    assert [h["to_status"] for h in history] == ["open", "assigned"]


def test_staff_may_assign_a_vendor_technician_naming_the_vendor(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    vendor = make_vendor(run, None, "Red Plataforma")
    tech = _technician(client, run, team, vendor_id=vendor)
    ticket = create_ticket(client, team.requester, team.locale1)
    response = _assign(client, make_staff(client, run), ticket["id"], tech, vendor_id=str(vendor))
    assert response.status_code == 200, response.text
    assert response.json()["vendor_id"] == str(vendor)


def test_the_owner_may_assign_a_technician_of_a_private_vendor(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    vendor = make_vendor(run, team.client_id, "Contratista Propio")
    tech = _technician(client, run, team, vendor_id=vendor)
    ticket = create_ticket(client, team.requester, team.locale1)
    response = _assign(client, team.owner, ticket["id"], tech, vendor_id=str(vendor))
    assert response.status_code == 200, response.text
    assert response.json()["technician_id"] == str(tech.id)


def test_the_planned_time_is_the_default_instant(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    ticket = create_ticket(client, team.requester, team.locale1, planned_at=at(0, 20))
    payload = {"technician_id": str(tech.id)}
    response = client.post(_assign_url(ticket["id"]), json=payload, headers=team.owner.headers)
    assert _reasons(response) == ["no_shift"]
    set_ticket(run, ticket["id"], planned_at=datetime.fromisoformat(at(0, 9)))
    response = client.post(_assign_url(ticket["id"]), json=payload, headers=team.owner.headers)
    assert response.status_code == 200, response.text


def test_a_technician_without_the_required_skill_is_refused(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team, skills=["plumbing"])
    ticket = create_ticket(client, team.requester, team.locale1, required_skill="electricity")
    assert _reasons(_assign(client, team.owner, ticket["id"], tech)) == ["missing_skill"]


def test_a_technician_without_a_working_shift_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team, working=False)
    _shift(run, tech, at(1, 8), at(1, 18), ShiftType.working)
    ticket = create_ticket(client, team.requester, team.locale1)
    assert _reasons(_assign(client, team.owner, ticket["id"], tech)) == ["no_shift"]


def test_a_technician_on_leave_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    _shift(run, tech, at(0), at(1), ShiftType.sick_leave)
    ticket = create_ticket(client, team.requester, team.locale1)
    assert _reasons(_assign(client, team.owner, ticket["id"], tech)) == ["on_leave"]


def test_a_technician_without_the_required_licence_is_refused(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    add_certification(run, tech, "gas", date(2031, 1, 1))
    ticket = create_ticket(
        client, team.requester, team.locale1, required_certification="sec_class_d"
    )
    assert _reasons(_assign(client, team.owner, ticket["id"], tech)) == ["licence_missing"]


def test_a_licence_expired_before_the_date_of_the_work_is_refused(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    add_certification(run, tech, "sec_class_d", date(2030, 3, 3))
    ticket = create_ticket(
        client, team.requester, team.locale1, required_certification="sec_class_d"
    )
    assert _reasons(_assign(client, team.owner, ticket["id"], tech)) == ["licence_expired"]


def test_a_licence_valid_on_the_date_of_the_work_is_enough(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    add_certification(run, tech, "sec_class_d", date(2030, 3, 4))
    ticket = create_ticket(
        client, team.requester, team.locale1, required_certification="sec_class_d"
    )
    assert _assign(client, team.owner, ticket["id"], tech).status_code == 200


def test_an_inactive_technician_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    _set_user(run, tech.id, is_active=False)
    ticket = create_ticket(client, team.requester, team.locale1)
    assert _reasons(_assign(client, team.owner, ticket["id"], tech)) == ["inactive"]


def test_all_reasons_are_reported_at_once(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team, working=False)
    _shift(run, tech, at(0), at(1), ShiftType.vacation)
    ticket = create_ticket(
        client,
        team.requester,
        team.locale1,
        required_skill="hvac",
        required_certification="sec_class_d",
    )
    reasons = _reasons(_assign(client, team.owner, ticket["id"], tech))
    assert reasons == ["missing_skill", "no_shift", "on_leave", "licence_missing"]


def test_a_user_who_is_not_a_technician_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1)
    response = _assign(client, team.owner, ticket["id"], team.viewer)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["type"] == "not_a_technician"


def test_an_inactive_vendor_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    vendor = make_vendor(run, team.client_id, "Cerrado Ltda")
    tech = _technician(client, run, team, vendor_id=vendor)

    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(Vendor).where(Vendor.id == vendor).values(is_active=False))

    run(deactivate)
    ticket = create_ticket(client, team.requester, team.locale1)
    response = _assign(client, team.owner, ticket["id"], tech, vendor_id=str(vendor))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["type"] == "vendor_inactive"


def test_a_closed_ticket_cannot_be_assigned(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    ticket = create_ticket(client, team.requester, team.locale1)
    for closed in (TicketStatus.completed, TicketStatus.cancelled):
        set_ticket(run, ticket["id"], status=closed)
        response = _assign(client, team.owner, ticket["id"], tech)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "ticket_closed"


def test_requester_viewer_and_technician_cannot_assign(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = _technician(client, run, team)
    assigned = _technician(client, run, team)
    ticket = create_ticket(client, team.requester, team.locale1)
    set_ticket(run, ticket["id"], technician_id=assigned.id)
    for account in (team.requester, team.viewer, assigned):
        assert _assign(client, account, ticket["id"], tech).status_code == 403, account.role
    for account in (tech, team.manager2, team.outsider):
        assert _assign(client, account, ticket["id"], tech).status_code == 404, account.role
    body = client.get(f"{API}/tickets/{ticket['id']}", headers=team.owner.headers).json()
    assert body["status"] == "open"
    assert body["technician_id"] == str(assigned.id)


def test_foreign_technicians_and_vendors_are_not_found(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = make_team(client, run)
    foreign = _technician(client, run, other)
    platform = make_vendor(run, None, "Red Plataforma")
    vendor_tech = _technician(client, run, team, vendor_id=platform)
    other_private = make_vendor(run, other.client_id, "Contratista Ajeno")
    other_private_tech = _technician(client, run, other, vendor_id=other_private)
    ticket = create_ticket(client, team.requester, team.locale1)
    tid = ticket["id"]
    cases = [
        _assign(client, team.owner, tid, foreign),
        _assign(client, team.owner, tid, uuid7()),
        # A vendor's technician must be named with the vendor.
        _assign(client, team.owner, tid, vendor_tech),
        _assign(client, team.owner, tid, foreign, vendor_id=str(platform)),
        _assign(client, team.owner, tid, other_private_tech, vendor_id=str(other_private)),
        _assign(
            client, make_staff(client, run), tid, other_private_tech, vendor_id=str(other_private)
        ),
        _assign(client, team.owner, tid, vendor_tech, vendor_id=str(uuid7())),
    ]
    assert [r.status_code for r in cases] == [404] * len(cases), [r.text for r in cases]


# --- candidates ----------------------------------------------------------------------------------


def test_candidates_are_ranked_eligible_first_then_by_load_then_name(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    busy = _technician(client, run, team, skills=["hvac"], name="Alba Busy")
    free_b = _technician(client, run, team, skills=["hvac"], name="Bruno Free")
    free_a = _technician(client, run, team, skills=["hvac"], name="Ana Free")
    unskilled = _technician(client, run, team, name="Aaron Unskilled")
    off = _technician(client, run, team, skills=["hvac"], working=False, name="Zoe Off")
    vendor = make_vendor(run, team.client_id, "Contratista Propio")
    contractor = _technician(client, run, team, skills=["hvac"], vendor_id=vendor, name="Carla")
    _set_user(run, off.id, is_active=False)
    _technician(client, run, make_team(client, run), skills=["hvac"], name="Foreign")
    make_vendor(run, None, "Red Plataforma")
    for _ in range(2):
        other = create_ticket(client, team.requester, team.locale1)
        set_ticket(run, other["id"], technician_id=busy.id, status=TicketStatus.in_progress)
    done = create_ticket(client, team.requester, team.locale1)
    set_ticket(run, done["id"], technician_id=free_a.id, status=TicketStatus.completed)
    ticket = create_ticket(client, team.requester, team.locale1, required_skill="hvac")
    response = client.get(
        _candidates_url(ticket["id"]), params={"at": AT}, headers=team.manager.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert datetime.fromisoformat(body["at"]) == datetime.fromisoformat(AT)
    rows = [(c["full_name"], c["eligible"], c["reasons"], c["open_tickets"]) for c in body["items"]]
    assert rows == [
        ("Ana Free", True, [], 0),
        ("Bruno Free", True, [], 0),
        ("Carla", True, [], 0),
        ("Alba Busy", True, [], 2),
        ("Aaron Unskilled", False, ["missing_skill"], 0),
        ("Zoe Off", False, ["inactive", "no_shift"], 0),
    ]
    by_name = {c["full_name"]: c for c in body["items"]}
    assert by_name["Carla"]["vendor_id"] == str(vendor)
    assert by_name["Ana Free"]["technician_id"] == str(free_a.id)
    assert {free_b.id, unskilled.id, contractor.id} <= {
        uuid.UUID(c["technician_id"]) for c in body["items"]
    }


def test_candidates_report_leave_and_licence_reasons(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    away = _technician(client, run, team, name="Away")
    _shift(run, away, at(0), at(1), ShiftType.day_off)
    add_certification(run, away, "heights", None)
    expired = _technician(client, run, team, name="Expired")
    add_certification(run, expired, "heights", date(2030, 1, 1))
    _technician(client, run, team, name="Missing")
    ticket = create_ticket(client, team.requester, team.locale1, required_certification="heights")
    response = client.get(
        _candidates_url(ticket["id"]), params={"at": AT}, headers=team.owner.headers
    )
    assert response.status_code == 200, response.text
    reasons = {c["full_name"]: c["reasons"] for c in response.json()["items"]}
    assert reasons == {
        "Away": ["on_leave"],
        "Expired": ["licence_expired"],
        "Missing": ["licence_missing"],
    }


def test_only_assigners_see_the_candidates(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1)
    url = _candidates_url(ticket["id"])
    for account in (team.requester, team.viewer):
        assert client.get(url, headers=account.headers).status_code == 403
    other = make_team(client, run)
    assert client.get(url, headers=other.owner.headers).status_code == 404
    assert client.get(url, headers=make_staff(client, run).headers).status_code == 200


def test_candidates_cost_the_same_queries_for_2_and_10_technicians(
    client: TestClient, run: Runner, queries: QueryCounter
) -> None:
    team = make_team(client, run)
    vendor = make_vendor(run, team.client_id, "Contratista Propio")
    ticket = create_ticket(
        client, team.requester, team.locale1, required_skill="hvac", required_certification="gas"
    )
    url = _candidates_url(ticket["id"])

    def add(n: int) -> None:
        for i in range(n):
            tech = _technician(
                client, run, team, skills=["hvac"], vendor_id=vendor if i % 2 else None
            )
            add_certification(run, tech, "gas", date(2031, 1, 1))
            busy = create_ticket(client, team.requester, team.locale1)
            set_ticket(run, busy["id"], technician_id=tech.id)

    def count() -> int:
        client.get(url, params={"at": AT}, headers=team.manager.headers)  # warm-up
        with queries as q:
            response = client.get(url, params={"at": AT}, headers=team.manager.headers)
        assert response.status_code == 200, response.text
        return q.count

    add(2)
    two = count()
    add(8)
    ten = count()
    assert two == ten
    items = client.get(url, params={"at": AT}, headers=team.manager.headers).json()["items"]
    assert len(items) == 10
    assert all(c["eligible"] and c["open_tickets"] == 1 for c in items)


def _candidate_reasons(client: TestClient, team: Team, ticket_id: str, instant: str) -> list[str]:
    response = client.get(
        _candidates_url(ticket_id), params={"at": instant}, headers=team.owner.headers
    )
    assert response.status_code == 200, response.text
    (candidate,) = [c for c in response.json()["items"] if c["full_name"] == "Late"]
    reasons: list[str] = candidate["reasons"]
    return reasons


def test_a_licence_is_valid_through_its_expiry_date_in_the_locales_calendar(
    client: TestClient, run: Runner
) -> None:
    # The locale keeps Santiago's time (UTC-3 in March): the licence expires on Monday 4 March
    # and holds until Monday's midnight there, 03:00 UTC on Tuesday, not at 21:00 on Monday.
    team = make_team(client, run)
    tech = _technician(client, run, team, working=False, name="Late")
    _shift(run, tech, at(0, 20), at(1, 6), ShiftType.working)
    add_certification(run, tech, "sec_class_d", date(2030, 3, 4))
    ticket = create_ticket(
        client, team.requester, team.locale1, required_certification="sec_class_d"
    )
    assert _candidate_reasons(client, team, ticket["id"], "2030-03-04T21:30:00-03:00") == []
    assert _candidate_reasons(client, team, ticket["id"], "2030-03-04T23:59:00-03:00") == []
    assert _candidate_reasons(client, team, ticket["id"], "2030-03-05T00:00:00-03:00") == [
        "licence_expired"
    ]


def test_a_licence_follows_the_calendar_of_the_ticket_locale(
    client: TestClient, run: Runner
) -> None:
    # The same licence at the same instant, for work in a locale on UTC: already expired there.
    team = make_team(client, run)

    async def to_utc(session: AsyncSession) -> None:
        await session.execute(
            update(Locale).where(Locale.id == team.locale1).values(timezone="UTC")
        )

    run(to_utc)
    tech = _technician(client, run, team, working=False, name="Late")
    _shift(run, tech, at(0, 20), at(1, 6), ShiftType.working)
    add_certification(run, tech, "sec_class_d", date(2030, 3, 4))
    ticket = create_ticket(
        client, team.requester, team.locale1, required_certification="sec_class_d"
    )
    assert _candidate_reasons(client, team, ticket["id"], "2030-03-04T23:59:00-03:00") == [
        "licence_expired"
    ]


def test_the_licence_day_is_the_date_in_santiago_by_default() -> None:
    monday_night = datetime.fromisoformat("2030-03-05T02:59:59+00:00")
    assert licence_day(monday_night) == date(2030, 3, 4)
    assert licence_day(monday_night, "UTC") == date(2030, 3, 5)
    assert licence_day(datetime.fromisoformat("2030-03-05T03:00:00+00:00")) == date(2030, 3, 5)
    assert valid_on(date(2030, 3, 4), date(2030, 3, 4))
    assert not valid_on(date(2030, 3, 4), date(2030, 3, 5))
    assert valid_on(None, date(2200, 1, 1))
