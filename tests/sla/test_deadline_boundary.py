"""A target met at its deadline instant is met; one microsecond later it is breached: both when
the ticket moves (the response or resolution stamped at that instant) and in the ``sla.check``
job's sweep (a check at the deadline instant records no breach yet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.operations import sla, transitions
from tests.fixtures.factories import Account, Runner
from tests.fixtures.operations import create_ticket, move, set_ticket
from tests.fixtures.tenancy import Team, make_team
from tests.sla.test_ticket_clock import check, get, in_progress, load, sla_events

ONE_MICROSECOND = timedelta(microseconds=1)
#: The instant the tickets below are answered or resolved (the transitions' clock is pinned to it).
MOVED_AT = datetime.now(UTC).replace(microsecond=123_456) + timedelta(hours=1)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


@pytest.fixture
def moved_at(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Transitions stamp ``MOVED_AT`` (``responded_at``, ``resolved_at``)."""
    monkeypatch.setattr(transitions, "utcnow", lambda: MOVED_AT)
    return MOVED_AT


def _breaches(run: Runner) -> list[str]:
    return [str(e.payload["target"]) for e in sla_events(run) if e.type == "sla.breached"]


def _responded(
    client: TestClient, run: Runner, team: Team, response_due_at: datetime
) -> tuple[dict[str, Any], Account]:
    """A ticket whose response deadline is ``response_due_at``, answered at ``MOVED_AT`` by its
    technician (returned with it)."""
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    set_ticket(
        run,
        ticket["id"],
        sla_response_due_at=response_due_at,
        sla_response_warn_at=response_due_at - timedelta(minutes=30),
        sla_response_warned_at=response_due_at - timedelta(minutes=30),
    )
    technician = in_progress(client, run, team, ticket["id"])
    assert load(run, ticket["id"]).responded_at == MOVED_AT
    return ticket, technician


@pytest.mark.parametrize(("late_by", "breached"), [(timedelta(0), False), (ONE_MICROSECOND, True)])
def test_a_response_at_the_deadline_instant_is_in_time_and_one_microsecond_later_breaches(
    client: TestClient, run: Runner, moved_at: datetime, late_by: timedelta, breached: bool
) -> None:
    team = make_team(client, run)
    ticket, _ = _responded(client, run, team, moved_at - late_by)
    # At the transition: a late response leaves a breach to record, one in time leaves none.
    pending = [
        (target, kind) for target, kind, _ in sla.pending_thresholds(load(run, ticket["id"]))
    ]
    assert (("response", "breach") in pending) is breached
    check(client, moved_at + timedelta(minutes=1))
    assert get(client, team.owner, ticket["id"])["sla_response_breached"] is breached
    assert ("response" in _breaches(run)) is breached


@pytest.mark.parametrize(("late_by", "breached"), [(timedelta(0), False), (ONE_MICROSECOND, True)])
def test_a_resolution_at_the_deadline_instant_is_in_time_and_one_microsecond_later_breaches(
    client: TestClient, run: Runner, moved_at: datetime, late_by: timedelta, breached: bool
) -> None:
    team = make_team(client, run)
    ticket, technician = _responded(client, run, team, moved_at + timedelta(hours=1))
    due = moved_at - late_by
    set_ticket(
        run,
        ticket["id"],
        sla_resolution_due_at=due,
        sla_resolution_warn_at=due - timedelta(minutes=30),
        sla_resolution_warned_at=due - timedelta(minutes=30),
    )
    response = move(client, technician, ticket["id"], "resolved")
    assert response.status_code == 200, response.text
    assert load(run, ticket["id"]).resolved_at == moved_at
    pending = [
        (target, kind) for target, kind, _ in sla.pending_thresholds(load(run, ticket["id"]))
    ]
    assert (("resolution", "breach") in pending) is breached
    check(client, moved_at + timedelta(minutes=1))
    assert get(client, team.owner, ticket["id"])["sla_resolution_breached"] is breached
    assert ("resolution" in _breaches(run)) is breached


def test_the_check_at_the_deadline_instant_records_no_breach_and_one_microsecond_later_does(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, priority="critical")
    due = datetime.now(UTC).replace(microsecond=654_321) + timedelta(hours=2)
    set_ticket(
        run,
        ticket["id"],
        sla_response_due_at=due,
        sla_response_warn_at=due - timedelta(minutes=30),
        sla_next_check_at=due - timedelta(minutes=30),
    )
    check(client, due)  # the response may still come at this very instant
    body = get(client, team.owner, ticket["id"])
    assert body["sla_response_warned_at"] is not None
    assert body["sla_response_breached"] is False
    assert _breaches(run) == []
    assert load(run, ticket["id"]).sla_next_check_at == due  # looked at again
    check(client, due + ONE_MICROSECOND)
    assert get(client, team.owner, ticket["id"])["sla_response_breached"] is True
    assert _breaches(run) == ["response"]
