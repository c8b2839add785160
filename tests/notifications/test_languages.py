"""Notifications and their e-mails in each recipient's language: ticket codes, SLA targets,
labels of statuses, dates in the reader's format and time zone, and links that exist."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.types import uuid7
from kerops.events.models import Event
from kerops.notifications import service
from kerops.users.models import User
from tests.fixtures.factories import Account, Runner
from tests.notifications.conftest import API, Site, inbox, raise_ticket
from tests.notifications.test_notifications import emit, outbox

TICKET_ID = uuid.UUID("01900000-0000-7000-8000-000000000011")
#: 17:30 UTC is 14:30 in Santiago (summer time, UTC-3).
DUE_AT = "2026-12-07T17:30:00+00:00"


def speaks(run: Runner, account: Account, language: str, timezone: str | None = None) -> None:
    """Give the account a language (and a time zone)."""
    values: dict[str, Any] = {"language": language}
    if timezone:
        values["timezone"] = timezone

    async def change(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == account.id).values(**values))

    run(change)


def sla_event(kind: str, target: str) -> Event:
    return Event(
        id=uuid7(),
        type=kind,
        subject_type="ticket",
        subject_id=TICKET_ID,
        payload={"target": target, "due_at": DUE_AT, "number": 11, "title": "Bomba sin presión"},
    )


# --- end to end: a notification and its e-mail, to a Spanish and an English reader ---------------


def test_a_new_ticket_is_announced_to_each_manager_in_their_language(
    client: TestClient, run: Runner, site: Site
) -> None:
    speaks(run, site.manager, "en")
    speaks(run, site.manager2, "es-CL")
    ticket = raise_ticket(client, site.requester, site.locale)
    code = ticket["code"]
    assert re.fullmatch(r"T-\d{6}", code)

    (english,) = inbox(client, site.manager)
    (spanish,) = inbox(client, site.manager2)
    assert english["title"] == f"New ticket {code}: Aire acondicionado sin frío"
    assert spanish["title"] == f"Nuevo ticket {code}: Aire acondicionado sin frío"

    mails = {m.to: m for m in outbox(client) if m.channel == "email"}
    assert mails[site.manager.email].subject == english["title"]
    assert mails[site.manager2.email].subject == spanish["title"]
    link = f"http://testserver/api/v1/tickets/{ticket['id']}"
    assert mails[site.manager.email].body.endswith(link)
    assert mails[site.manager2.email].body.endswith(link)


def test_a_status_change_names_the_statuses_by_their_labels(
    client: TestClient, run: Runner, site: Site
) -> None:
    speaks(run, site.manager, "en")
    speaks(run, site.manager2, "es-CL")
    emit(
        client,
        "ticket.status_changed",
        client_id=site.owner.client_id,
        locale_id=site.locale,
        subject_type="ticket",
        subject_id=TICKET_ID,
        payload={"number": 11, "title": "Bomba", "from_status": "accepted", "status": "en_route"},
    )
    (english,) = inbox(client, site.manager)
    (spanish,) = inbox(client, site.manager2)
    assert english["title"] == "Ticket T-000011 is now En route"
    assert english["body"] == "Bomba (Accepted → En route)"
    assert spanish["title"] == "El ticket T-000011 ahora está: En camino"
    assert spanish["body"] == "Bomba (Aceptado → En camino)"


def test_an_sla_breach_is_stored_in_each_recipients_language_and_time_zone(
    client: TestClient, run: Runner, site: Site
) -> None:
    speaks(run, site.manager, "en", "Europe/London")
    speaks(run, site.manager2, "es-CL", "America/Santiago")
    emit(
        client,
        "sla.breached",
        client_id=site.owner.client_id,
        locale_id=site.locale,
        subject_type="ticket",
        subject_id=TICKET_ID,
        payload={"target": "resolution", "due_at": DUE_AT, "number": 11, "title": "Bomba"},
    )
    (english,) = inbox(client, site.manager)
    (spanish,) = inbox(client, site.manager2)
    assert english["title"] == "Resolution overdue: ticket T-000011"
    assert english["body"] == "Bomba. It was due on 7 Dec 2026, 17:30."
    assert spanish["title"] == "Resolución vencida: ticket T-000011"
    assert spanish["body"] == "Bomba. Venció el 07-12-2026 14:30."
    mails = {m.to: m for m in outbox(client) if m.channel == "email"}
    assert mails[site.manager2.email].subject == "Resolución vencida: ticket T-000011"
    assert mails[site.manager2.email].body.startswith("Bomba. Venció el 07-12-2026 14:30.")


# --- what each event says ------------------------------------------------------------------------


def test_sla_alerts_say_which_target_in_both_languages() -> None:
    titles = {
        (kind, target, language): service.render(sla_event(kind, target), language).title
        for kind in ("sla.warning", "sla.breached")
        for target in ("response", "resolution")
        for language in ("es-CL", "en")
    }
    assert titles == {
        ("sla.warning", "response", "es-CL"): "Respuesta por vencer: ticket T-000011",
        ("sla.warning", "resolution", "es-CL"): "Resolución por vencer: ticket T-000011",
        ("sla.breached", "response", "es-CL"): "Respuesta vencida: ticket T-000011",
        ("sla.breached", "resolution", "es-CL"): "Resolución vencida: ticket T-000011",
        ("sla.warning", "response", "en"): "Response due soon: ticket T-000011",
        ("sla.warning", "resolution", "en"): "Resolution due soon: ticket T-000011",
        ("sla.breached", "response", "en"): "Response overdue: ticket T-000011",
        ("sla.breached", "resolution", "en"): "Resolution overdue: ticket T-000011",
    }


def test_an_sla_warning_gives_the_deadline_in_the_readers_format() -> None:
    event = sla_event("sla.warning", "response")
    spanish = service.render(event, "es-CL", timezone="America/Santiago")
    english = service.render(event, "en", timezone="America/Santiago")
    assert spanish.body == "Bomba sin presión. Vence el 07-12-2026 14:30."
    assert english.body == "Bomba sin presión. Due on 7 Dec 2026, 14:30."


def test_a_licence_reminder_counts_days_and_writes_the_date_per_language() -> None:
    event = Event(
        id=uuid7(),
        type="certification.expiring",
        subject_type="certification",
        subject_id=TICKET_ID,
        payload={
            "cert_type": "SEC",
            "number": "B-77",
            "expires_date": "2026-12-24",
            "days_left": 1,
        },
    )
    spanish = service.render(event, "es-CL")
    english = service.render(event, "en")
    assert (spanish.title, spanish.body) == (
        "La licencia SEC vence en 1 día",
        "La licencia B-77 vence el 24-12-2026.",
    )
    assert (english.title, english.body) == (
        "Licence SEC expires in 1 day",
        "Licence B-77 expires on 24 Dec 2026.",
    )


def test_a_sensor_alert_describes_the_reading_and_links_its_ticket() -> None:
    event = Event(
        id=uuid7(),
        type="sensor.alert",
        subject_type="iot_rule",
        subject_id=uuid7(),
        payload={
            "rule_name": "Alarma de temperatura",
            "device_name": "Sensor sala 1",
            "metric": "temperature",
            "kind": "above",
            "unit": "°C",
            "threshold": 1234.5,
            "value": 1300.25,
            "tripped_at": DUE_AT,
            "ticket_id": str(TICKET_ID),
        },
    )
    spanish = service.render(event, "es-CL", timezone="America/Santiago")
    english = service.render(event, "en", timezone="America/Santiago")
    assert spanish.title == "Alerta de sensor: Alarma de temperatura"
    assert spanish.body == (
        "Sensor sala 1: temperature sobre 1.234,5 °C: 1.300,25 °C a las 07-12-2026 14:30 "
        "(hora del dispositivo)."
    )
    assert english.title == "Sensor alert: Alarma de temperatura"
    assert english.body == (
        "Sensor sala 1: temperature above 1,234.5 °C: 1,300.25 °C at 7 Dec 2026, 14:30 "
        "(device time)."
    )
    assert spanish.link == english.link == f"/api/v1/tickets/{TICKET_ID}"


def test_an_unknown_language_is_written_in_spanish() -> None:
    assert service.render(sla_event("sla.breached", "response"), "fr").title == (
        "Respuesta vencida: ticket T-000011"
    )


# --- links ---------------------------------------------------------------------------------------


def test_every_notification_link_is_a_route_of_the_app(client: TestClient) -> None:
    gets = {
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and "GET" in route.methods
    }
    for subject_type, template in service.LINKS.items():
        path = template.format(id="{id}")
        pattern = re.sub(r"\{[^}]+\}", "{}", path)
        found = {p for p in gets if re.sub(r"\{[^}]+\}", "{}", p) == pattern}
        assert found, f"the link of {subject_type} ({template}) is no route"


def test_a_notification_link_answers_its_subject(
    client: TestClient, run: Runner, site: Site
) -> None:
    ticket = raise_ticket(client, site.requester, site.locale)
    (note,) = inbox(client, site.manager)
    response = client.get(note["link"], headers=site.manager.headers)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == ticket["id"]
    assert note["link"].startswith(f"{API}/")
