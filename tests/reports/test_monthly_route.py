"""The monthly maintenance report route: a locale's October 2026 (three tickets of its own and
one of another locale's) printed for its managers, refused to others."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ClientRole, LocalRole, TicketStatus, UserRole
from kerops.core.types import uuid7
from kerops.operations.models import ServiceTicket, TicketHistory
from tests.fixtures.factories import Account, Runner, add_member, make_locale, make_user
from tests.reports.pdf_text import pdf_text

S = TicketStatus
Moves = list[tuple[TicketStatus, datetime]]


def z(day: int, hour: int = 12, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def url(locale_id: uuid.UUID) -> str:
    return f"/api/v1/locales/{locale_id}/reports/monthly.pdf"


@dataclass
class Month:
    owner: Account
    locale: uuid.UUID
    other_locale: uuid.UUID


@pytest.fixture
def october(client: TestClient, run: Runner) -> Month:
    """Three tickets at "Acme Providencia" in October (two completed, one still open) and one
    at another locale of the client, which the report must leave out."""
    owner = make_user(client, run, role=UserRole.client_owner)
    assert owner.client_id is not None
    client_id = owner.client_id
    locale = make_locale(run, client_id, "Acme Providencia")
    other = make_locale(run, client_id, "Acme Maipú")
    rows: list[tuple[Any, dict[str, Any]]] = []

    def ticket(
        number: int, locale_id: uuid.UUID, moves: list[tuple[TicketStatus, datetime]]
    ) -> None:
        ticket_id = uuid7()
        final, at = moves[-1]
        stamps = {"completed_at": at} if final is S.completed else {}
        rows.append(
            (
                ServiceTicket,
                {
                    "id": ticket_id,
                    "client_id": client_id,
                    "number": number,
                    "title": f"T{number}",
                    "locale_id": locale_id,
                    "status": final,
                    "created_at": moves[0][1],
                    "updated_at": at,
                    **stamps,
                },
            )
        )
        previous = None
        for status, when in moves:
            rows.append(
                (
                    TicketHistory,
                    {
                        "id": uuid7(),
                        "client_id": client_id,
                        "locale_id": locale_id,
                        "ticket_id": ticket_id,
                        "from_status": previous,
                        "to_status": status,
                        "created_at": when,
                    },
                )
            )
            previous = status

    # Repairs of 4 h and 8 h: MTTR 6 h.
    ticket(1, locale, [(S.open, z(5, 10)), (S.in_progress, z(5, 12)), (S.completed, z(5, 16))])
    ticket(2, locale, [(S.open, z(14, 9)), (S.in_progress, z(14, 10)), (S.completed, z(14, 18))])
    ticket(3, locale, [(S.open, z(20))])
    ticket(4, other, [(S.open, z(21)), (S.in_progress, z(21, 13)), (S.completed, z(22))])

    async def create(session: AsyncSession) -> None:
        for model, values in rows:
            await session.execute(insert(model).values(**values))

    run(create)
    return Month(owner, locale, other)


def _card(text: str, label: str) -> str:
    """The value printed right after a card's label."""
    after = text.split(label, 1)[1].strip()
    return after.split()[0]


def test_the_owner_prints_the_locales_month_in_spanish(client: TestClient, october: Month) -> None:
    headers = {**october.owner.headers, "Accept-Language": "es-CL"}
    response = client.get(url(october.locale), params={"month": "2026-10"}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="informe-mensual-2026-10.pdf"' in response.headers["content-disposition"]
    text = pdf_text(response.content)
    assert "Acme Providencia - octubre de 2026" in text
    assert "Acme Maipú" not in text
    assert _card(text, "TICKETS ABIERTOS") == "3"  # the other locale's ticket left out
    assert _card(text, "TICKETS CERRADOS") == "2"
    assert "6 h" in text  # MTTR: (4 + 8) / 2
    assert _card(text, "PENDIENTES") == "1"  # ticket 3, open at month end


def test_the_report_follows_the_callers_language(client: TestClient, october: Month) -> None:
    headers = {**october.owner.headers, "Accept-Language": "en"}
    response = client.get(url(october.locale), params={"month": "2026-10"}, headers=headers)

    assert response.status_code == 200, response.text
    assert 'filename="monthly-report-2026-10.pdf"' in response.headers["content-disposition"]
    text = pdf_text(response.content)
    assert "Monthly maintenance report" in text
    assert "Acme Providencia - October 2026" in text
    assert _card(text, "TICKETS OPENED") == "3"


def test_without_a_month_the_report_is_of_the_last_full_month(
    client: TestClient, october: Month
) -> None:
    response = client.get(url(october.locale), headers=october.owner.headers)

    assert response.status_code == 200, response.text
    today = datetime.now(UTC).date()
    last = today.replace(day=1).toordinal() - 1
    expected = datetime.fromordinal(last).strftime("%Y-%m")
    assert f"-{expected}.pdf" in response.headers["content-disposition"]


def test_locale_managers_and_client_managers_print_it_others_are_refused(
    client: TestClient, run: Runner, october: Month
) -> None:
    client_id = october.owner.client_id
    manager = make_user(client, run, role=UserRole.client_member, client_id=client_id)
    add_member(run, client_id, october.locale, manager.id, LocalRole.manager)  # type: ignore[arg-type]
    wide = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=client_id,
        client_role=ClientRole.manager,
    )
    requester = make_user(client, run, role=UserRole.client_member, client_id=client_id)
    add_member(run, client_id, october.locale, requester.id, LocalRole.requester)  # type: ignore[arg-type]
    viewer = make_user(
        client, run, role=UserRole.client_member, client_id=client_id, client_role=ClientRole.viewer
    )
    month = {"month": "2026-10"}

    for allowed in (manager, wide):
        response = client.get(url(october.locale), params=month, headers=allowed.headers)
        assert response.status_code == 200, response.text
    for refused in (requester, viewer):
        response = client.get(url(october.locale), params=month, headers=refused.headers)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "monthly_report_managers_only"
    # A manager of another locale does not read this one.
    response = client.get(url(october.other_locale), params=month, headers=manager.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_another_clients_locale_is_not_found(
    client: TestClient, run: Runner, october: Month
) -> None:
    stranger = make_user(client, run, role=UserRole.client_owner)
    response = client.get(
        url(october.locale), params={"month": "2026-10"}, headers=stranger.headers
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    missing = client.get(url(uuid7()), headers=october.owner.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-10", "0000-01", "octubre", ""])
def test_a_malformed_month_is_refused(client: TestClient, october: Month, month: str) -> None:
    response = client.get(
        url(october.locale), params={"month": month}, headers=october.owner.headers
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


def test_a_future_month_is_refused(client: TestClient, october: Month) -> None:
    today = datetime.now(UTC).date()
    future = f"{today.year + 1}-01"
    response = client.get(
        url(october.locale), params={"month": future}, headers=october.owner.headers
    )

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["type"] == "month_future"
