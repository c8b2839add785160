"""Diagnosis of new tickets from the client's resolved tickets: skill, cause, parts, similar."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from kerops.core.enums import LocalRole, UserRole
from kerops.operations.diagnosis_engine import normalise, tokens
from tests.automation.helpers import (
    INLINE_JOBS,
    Site,
    add_diagnosis_history,
    add_resolved_ticket,
    make_site,
    ticket_row,
)
from tests.fixtures.assets import make_bom_line, make_product
from tests.fixtures.factories import Runner, add_member, make_user, register_owner
from tests.fixtures.operations import create_ticket


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return INLINE_JOBS


@pytest.fixture
def site(client: TestClient, run: Runner) -> Site:
    return make_site(client, run)


def _history(run: Runner, site: Site) -> dict[str, set[str]]:
    return {skill: set(ids) for skill, ids in add_diagnosis_history(run, site).items()}


def test_a_new_ticket_is_diagnosed_from_similar_resolved_tickets(
    client: TestClient, run: Runner, site: Site
) -> None:
    ids = _history(run, site)
    body = create_ticket(
        client,
        site.owner,
        site.locale_id,
        title="El chiller no enfría",
        description="Temperatura alta en el piso 3",
    )
    ticket = ticket_row(run, body["id"])
    assert ticket.ai_skill == "hvac"
    assert ticket.ai_diagnosed_at is not None
    assert ticket.ai_confidence is not None and ticket.ai_confidence >= 0.5
    assert ticket.ai_similar_ticket_ids
    assert ticket.ai_similar_ticket_ids[0] in ids["hvac"]
    assert "refrigerante" in (ticket.ai_cause or "")


def test_english_and_accents_match_the_same_words(
    client: TestClient, run: Runner, site: Site
) -> None:
    _history(run, site)
    body = create_ticket(
        client, site.owner, site.locale_id, title="FUGA de agua", description="cañeria del bano"
    )
    assert ticket_row(run, body["id"]).ai_skill == "plumbing"


def test_the_assets_parts_named_in_the_ticket_are_suggested(
    client: TestClient, run: Runner, site: Site
) -> None:
    compressor = make_product(run, site.client_id, name="Compresor scroll 5TR")
    make_product(run, site.client_id, name="Correa de ventilador")
    air_filter = make_product(run, site.client_id, name="Filtro de aire")
    for product in (compressor, air_filter):
        make_bom_line(run, site.client_id, site.locale_id, site.asset_id, product)
    add_resolved_ticket(
        run,
        site,
        title="Ruido en compresor",
        skill="hvac",
        note="Compresor cambiado",
        asset_id=site.asset_id,
    )
    body = create_ticket(
        client,
        site.owner,
        site.locale_id,
        asset_id=str(site.asset_id),
        title="El compresor hace ruido",
    )
    ticket = ticket_row(run, body["id"])
    part_ids = [p["product_id"] for p in ticket.ai_parts]
    assert part_ids[0] == str(compressor)
    assert str(air_filter) not in part_ids[:1]
    assert ticket.ai_parts[0]["name"] == "Compresor scroll 5TR"


def test_without_history_the_confidence_is_low(client: TestClient, run: Runner, site: Site) -> None:
    body = create_ticket(client, site.owner, site.locale_id, title="Ruido raro en la bodega")
    ticket = ticket_row(run, body["id"])
    assert ticket.ai_diagnosed_at is not None
    assert ticket.ai_confidence == 0.0
    assert ticket.ai_similar_ticket_ids == []
    assert ticket.ai_skill is None
    # A keyword alone gives a hint, never a confident one.
    hinted = create_ticket(client, site.owner, site.locale_id, title="Fuga de agua")
    row = ticket_row(run, hinted["id"])
    assert row.ai_skill == "plumbing"
    assert row.ai_confidence is not None and 0 < row.ai_confidence <= 0.3


def test_other_clients_history_is_never_used(client: TestClient, run: Runner, site: Site) -> None:
    _history(run, site)
    other = make_site(client, run)
    body = create_ticket(client, other.owner, other.locale_id, title="El chiller no enfría")
    assert ticket_row(run, body["id"]).ai_similar_ticket_ids == []


def test_a_scan_report_is_diagnosed(client: TestClient, run: Runner, site: Site) -> None:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    from kerops.assets.models import Asset
    from kerops.operations.models import ServiceTicket

    _history(run, site)

    async def qr(session: AsyncSession) -> str:
        return str(
            (await session.execute(select(Asset.qr_code).where(Asset.id == site.asset_id))).scalar()
        )

    response = client.post(
        f"/api/v1/scan/{run(qr)}",
        json={
            "reporter_name": "Ana",
            "reporter_contact": "ana@example.cl",
            "description": "Hay una fuga de agua en el baño",
        },
    )
    assert response.status_code == 201, response.text

    async def scanned(session: AsyncSession) -> ServiceTicket:
        stmt = select(ServiceTicket).where(ServiceTicket.source == "scan")
        return (await session.execute(stmt)).scalar_one()

    assert run(scanned).ai_skill == "plumbing"


def test_the_diagnosis_can_be_run_again_by_who_may_change_the_ticket(
    client: TestClient, run: Runner, site: Site
) -> None:
    body = create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    assert ticket_row(run, body["id"]).ai_similar_ticket_ids == []
    ids = _history(run, site)

    response = client.post(f"/api/v1/tickets/{body['id']}/diagnosis", headers=site.owner.headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["engine"] == "offline"
    assert result["skill"] == "hvac"
    assert result["similar_tickets"][0]["ticket_id"] in ids["hvac"]
    stored = ticket_row(run, body["id"])
    assert stored.ai_skill == "hvac"
    assert stored.ai_similar_ticket_ids == [t["ticket_id"] for t in result["similar_tickets"]]

    requester = make_user(client, run, role=UserRole.client_member, client_id=site.client_id)
    add_member(run, site.client_id, site.locale_id, requester.id, LocalRole.viewer)
    forbidden = client.post(f"/api/v1/tickets/{body['id']}/diagnosis", headers=requester.headers)
    assert forbidden.status_code == 403
    outsider = register_owner(client)
    hidden = client.post(f"/api/v1/tickets/{body['id']}/diagnosis", headers=outsider.headers)
    assert hidden.status_code == 404
    missing = client.post(f"/api/v1/tickets/{uuid.uuid4()}/diagnosis", headers=site.owner.headers)
    assert missing.status_code == 404


def _normalise_by_definition(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_text_is_normalised_as_defined_lowercase_and_without_combining_marks(text: str) -> None:
    assert normalise(text) == _normalise_by_definition(text)


def test_accents_go_and_terms_are_kept_per_text() -> None:
    assert normalise("Filtración en BAÑO, naïve café") == "filtracion en bano, naive cafe"
    first = tokens("Compresores con fugas")
    assert first == ["compresor", "fuga"]
    first.append("changed")  # a caller's list is its own: the kept terms do not change
    assert tokens("Compresores con fugas") == ["compresor", "fuga"]
