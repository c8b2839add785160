"""A diagnosis cites other tickets of the client: a reader is shown only those they may read.

The client has two locales; a ticket resolved in locale 2 with a distinctive note is the most
similar to a new ticket of locale 1. A requester of locale 1 and the vendor technician assigned
to the new ticket may not read the locale-2 ticket: no answer of theirs names it or quotes its
note. The client's owner, who may read both, still sees the citation.
"""

from __future__ import annotations

import typing
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.core.enums import TicketStatus, UserRole
from kerops.operations.diagnosis_engine import generic_cause
from tests.automation.helpers import INLINE_JOBS, Site, add_resolved_ticket, ticket_row
from tests.conftest import QueryCounter
from tests.fixtures.factories import Account, Runner, make_user, make_vendor
from tests.fixtures.operations import create_ticket, move, set_ticket
from tests.fixtures.plans import make_asset
from tests.fixtures.tenancy import Team, make_team

API = "/api/v1"
#: The resolution note of the locale-2 ticket: found nowhere in what others are shown.
HIDDEN_NOTE = "Valvula Zeta-9 del local dos reemplazada"
SEEN_NOTE = "Correa del ventilador ajustada"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return INLINE_JOBS


@dataclass
class Cited:
    """The client, the new ticket of locale 1 and the resolved tickets its diagnosis cites."""

    team: Team
    technician: Account
    ticket_id: str
    hidden_id: str  # resolved in locale 2
    seen_id: str  # resolved in locale 1


@pytest.fixture
def cited(client: TestClient, run: Runner) -> Cited:
    team = make_team(client, run)
    asset_id = make_asset(run, team.client_id, team.locale1, "Chiller 1")
    site = Site(owner=team.owner, locale_id=team.locale1, asset_id=asset_id)
    hidden = add_resolved_ticket(
        run,
        site,
        title="El chiller no enfria",
        description="Temperatura alta en el piso 3",
        skill="hvac",
        note=HIDDEN_NOTE,
        locale_id=team.locale2,
    )
    seen = add_resolved_ticket(run, site, title="Ruido en el chiller", skill="hvac", note=SEEN_NOTE)
    body = create_ticket(
        client,
        team.requester,
        team.locale1,
        title="El chiller no enfria",
        description="Temperatura alta en el piso 3",
    )
    vendor_id = make_vendor(run, None, "Frio Austral")
    technician = make_user(client, run, role=UserRole.technician, vendor_id=vendor_id)
    set_ticket(
        run,
        body["id"],
        technician_id=technician.id,
        vendor_id=vendor_id,
        status=TicketStatus.assigned,
    )
    # The diagnosis as stored cites the locale-2 ticket first and quotes its note.
    stored = ticket_row(run, body["id"])
    assert stored.ai_similar_ticket_ids[:2] == [str(hidden), str(seen)]
    assert HIDDEN_NOTE in (stored.ai_cause or "")
    assert stored.ai_cause_ticket_ids == [str(hidden)]
    return Cited(team, technician, body["id"], str(hidden), str(seen))


def _answers(client: TestClient, account: Account, cited: Cited) -> dict[str, Any]:
    """What ``account`` reads of the new ticket: its GET and its item of the list."""
    one = client.get(f"{API}/tickets/{cited.ticket_id}", headers=account.headers)
    page = client.get(f"{API}/tickets", params={"limit": 100}, headers=account.headers)
    assert one.status_code == page.status_code == 200, (one.text, page.text)
    [item] = [t for t in page.json()["items"] if t["id"] == cited.ticket_id]
    return {"get": one.json(), "list": item}


def _shows_nothing_of_locale_2(answer: Any, cited: Cited) -> None:
    text = str(answer)
    assert cited.hidden_id not in text
    assert "Zeta-9" not in text


def test_a_requester_of_one_locale_is_not_shown_a_ticket_of_another(
    client: TestClient, cited: Cited
) -> None:
    for name, ticket in _answers(client, cited.team.requester, cited).items():
        _shows_nothing_of_locale_2(ticket, cited)
        # Their own locale's ticket is no ticket of theirs either (a requester follows their own).
        assert ticket["ai_similar_ticket_ids"] == [], name
        assert ticket["ai_cause"] == generic_cause("hvac", "en"), name
        assert ticket["ai_skill"] == "hvac", name  # the generic parts are shown as stored


def test_the_assigned_vendor_technician_is_not_shown_other_tickets(
    client: TestClient, cited: Cited
) -> None:
    technician = cited.technician
    for name, ticket in _answers(client, technician, cited).items():
        _shows_nothing_of_locale_2(ticket, cited)
        assert SEEN_NOTE not in str(ticket)
        assert ticket["ai_similar_ticket_ids"] == [], name
        assert ticket["ai_cause"] == generic_cause("hvac", "en"), name
    # The ticket a move answers, and the diagnosis they may run again.
    moved = move(client, technician, cited.ticket_id, "accepted")
    assert moved.status_code == 200, moved.text
    _shows_nothing_of_locale_2(moved.json(), cited)
    assert moved.json()["ai_similar_ticket_ids"] == []
    rerun = client.post(f"{API}/tickets/{cited.ticket_id}/diagnosis", headers=technician.headers)
    assert rerun.status_code == 200, rerun.text
    _shows_nothing_of_locale_2(rerun.json(), cited)
    assert rerun.json()["similar_tickets"] == []
    assert rerun.json()["cause"] == generic_cause("hvac", "en")


def test_a_manager_is_shown_the_citations_of_their_locale_only(
    client: TestClient, run: Runner, cited: Cited
) -> None:
    manager = cited.team.manager
    for name, ticket in _answers(client, manager, cited).items():
        _shows_nothing_of_locale_2(ticket, cited)
        assert cited.seen_id in ticket["ai_similar_ticket_ids"], name
        # The cause quotes the locale-2 ticket: they get the one taken from no ticket.
        assert ticket["ai_cause"] == generic_cause("hvac", "en"), name
    changed = client.patch(
        f"{API}/tickets/{cited.ticket_id}", json={"priority": "high"}, headers=manager.headers
    )
    assert changed.status_code == 200, changed.text
    _shows_nothing_of_locale_2(changed.json(), cited)
    assert cited.seen_id in changed.json()["ai_similar_ticket_ids"]
    rerun = client.post(f"{API}/tickets/{cited.ticket_id}/diagnosis", headers=manager.headers)
    assert rerun.status_code == 200, rerun.text
    _shows_nothing_of_locale_2(rerun.json(), cited)
    assert [t["ticket_id"] for t in rerun.json()["similar_tickets"]] == [cited.seen_id]
    # Stored whole all along: the re-run too keeps the citation for those who may see it.
    assert ticket_row(run, cited.ticket_id).ai_cause_ticket_ids == [cited.hidden_id]


def test_the_client_owner_still_sees_the_citation(client: TestClient, cited: Cited) -> None:
    owner = cited.team.owner
    for name, ticket in _answers(client, owner, cited).items():
        assert ticket["ai_similar_ticket_ids"][:2] == [cited.hidden_id, cited.seen_id], name
        assert HIDDEN_NOTE in ticket["ai_cause"], name
        assert "ai_cause_ticket_ids" not in ticket, name
    rerun = client.post(f"{API}/tickets/{cited.ticket_id}/diagnosis", headers=owner.headers)
    assert rerun.status_code == 200, rerun.text
    similar = [t["ticket_id"] for t in rerun.json()["similar_tickets"]]
    assert similar[:2] == [cited.hidden_id, cited.seen_id]
    assert HIDDEN_NOTE in rerun.json()["cause"]


def test_a_cited_id_that_is_no_ticket_is_never_shown(
    client: TestClient, run: Runner, cited: Cited
) -> None:
    stranger = str(uuid.uuid4())
    set_ticket(
        run,
        cited.ticket_id,
        ai_similar_ticket_ids=[stranger, "not-an-id", cited.seen_id],
        ai_cause_ticket_ids=["not-an-id"],
    )
    ticket = _answers(client, cited.team.owner, cited)["get"]
    assert ticket["ai_similar_ticket_ids"] == [cited.seen_id]
    assert ticket["ai_cause"] == generic_cause("hvac", "en")


def _answers_a_ticket(model: Any) -> bool:
    from kerops.operations.schemas import TicketRead

    if model is None or not isinstance(model, type):
        return False
    if issubclass(model, TicketRead):
        return True
    return any(
        TicketRead in (field.annotation, *typing.get_args(field.annotation))
        for field in getattr(model, "model_fields", {}).values()
    )


def test_every_route_answering_a_ticket_is_one_that_shows_the_diagnosis_filtered(
    client: TestClient,
) -> None:
    # A new route answering a ticket must show its diagnosis through
    # ``operations.diagnosis_shown`` (the ticket Document, or ``ticket_read``), then be added here.
    found = set()
    for route in client.app.router.routes:  # type: ignore[attr-defined]
        model = getattr(route, "response_model", None)
        items = getattr(model, "model_fields", {}).get("items")
        if _answers_a_ticket(model) or (
            items is not None and _answers_a_ticket(typing.get_args(items.annotation)[0])
        ):
            found |= {(method, route.path.removeprefix(API)) for method in route.methods}
    assert found == {
        ("POST", "/tickets"),
        ("GET", "/tickets"),
        ("GET", "/tickets/{ticket_id}"),
        ("PATCH", "/tickets/{ticket_id}"),
        ("POST", "/tickets/{ticket_id}/transitions"),
        ("POST", "/tickets/{ticket_id}/assign"),
        ("POST", "/tickets/{ticket_id}/tasks/{task_id}/complete"),
    }


def test_the_cited_tickets_of_a_page_are_checked_in_one_statement(
    client: TestClient, cited: Cited, queries: QueryCounter
) -> None:
    manager = cited.team.manager
    for _ in range(6):
        create_ticket(client, manager, cited.team.locale1, title="El chiller no enfria")
    counts = []
    for limit in (2, 7):  # the diagnosed tickets (not the resolved one they cite)
        params: dict[str, Any] = {"limit": limit, "status": ["open", "assigned"]}
        with queries as q:
            page = client.get(f"{API}/tickets", params=params, headers=manager.headers)
        assert page.status_code == 200 and len(page.json()["items"]) == limit
        assert all(t["ai_similar_ticket_ids"] for t in page.json()["items"])
        _shows_nothing_of_locale_2(page.json(), cited)
        counts.append(q.count)
    assert counts[0] == counts[1] <= 5
    with queries as q:
        assert client.get(f"{API}/tickets/{cited.ticket_id}", headers=manager.headers).is_success
    assert q.count <= 5
