"""Isolation cases of work logs and labour rates, aimed at client A's open ticket (assigned to
A's technician, whose timer runs on it and who logged an hour on it before), A's rate of that
technician, and a second technician of A with no time logged (for whom a timer starts)."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus, UserRole, WorkLogCategory
from kerops.core.types import utcnow, uuid7
from kerops.labour.models import LabourRate, TicketWorkLog
from kerops.operations.models import ServiceTicket
from kerops.operations.numbering import next_ticket_number
from kerops.users.models import User
from tests.fixtures.factories import unique_email
from tests.isolation import Case, World

P = "/api/v1"
TICKET_LOGS = "/tickets/{ticket_id}/work-logs"
#: Each entry a case makes is an hour further back, so entries of one world never overlap.
HOURS_BACK = itertools.count(10)
CATEGORIES = itertools.cycle([None, *WorkLogCategory])


def a_labour(w: World) -> dict[str, uuid.UUID]:
    """A's ticket (A's technician's), their finished log and running timer on it, their rate,
    and a second technician of A."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        ids = {name: uuid7() for name in ("ticket", "log", "running", "rate", "technician")}
        now = utcnow()
        scope = {"client_id": client_id, "locale_id": w.a_locale, "ticket_id": ids["ticket"]}
        logged = now - timedelta(hours=300)

        async def create(session: AsyncSession) -> None:
            # Core inserts: no audit rows, so A's audit log counts only what outsiders do.
            await session.execute(
                insert(User).values(
                    id=ids["technician"],
                    email=unique_email("a.tecnico"),
                    full_name="A: técnica de turno",
                    role=UserRole.technician,
                    client_id=client_id,
                )
            )
            await session.execute(
                insert(ServiceTicket).values(
                    id=ids["ticket"],
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: revisión de tablero",
                    locale_id=w.a_locale,
                    technician_id=w.a_technician.id,
                    status=TicketStatus.in_progress,
                    labour_cost_minor=15_000,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.execute(
                insert(TicketWorkLog),
                [
                    {
                        "id": ids["log"],
                        "technician_id": w.a_technician.id,
                        "started_at": logged,
                        "ended_at": logged + timedelta(hours=1),
                        "minutes": 60,
                        "hourly_rate_minor": 15_000,
                        "cost_minor": 15_000,
                        "notes": "A: revisión",
                        "created_at": now,
                        "updated_at": now,
                        **scope,
                    },
                    {
                        "id": ids["running"],
                        "technician_id": w.a_technician.id,
                        "started_at": now - timedelta(hours=1),
                        "ended_at": None,
                        "minutes": None,
                        "hourly_rate_minor": 15_000,
                        "cost_minor": 0,
                        "notes": "",
                        "created_at": now,
                        "updated_at": now,
                        **scope,
                    },
                ],
            )
            await session.execute(
                insert(LabourRate).values(
                    id=ids["rate"],
                    client_id=client_id,
                    technician_id=w.a_technician.id,
                    hourly_rate_minor=15_000,
                    currency="CLP",
                    created_at=now,
                    updated_at=now,
                )
            )

        w.run(create)
        w.remember(*ids.values())
        return ids

    objects: dict[str, uuid.UUID] = w.once("labour", make)
    return objects


def _ticket(w: World) -> dict[str, Any]:
    return {"ticket_id": a_labour(w)["ticket"]}


def _log(w: World) -> dict[str, Any]:
    return {"log_id": a_labour(w)["log"]}


def _rate(w: World) -> dict[str, Any]:
    return {"rate_id": a_labour(w)["rate"]}


def _exists(w: World) -> dict[str, Any]:
    """No path parameter; A's objects made first, so a list could show them."""
    a_labour(w)
    return {}


def _entry(w: World) -> dict[str, Any]:
    """An hour of A's technician's time, entered by a manager, further back at every call."""
    started = utcnow() - timedelta(hours=next(HOURS_BACK))
    return {
        "technician_id": str(w.a_technician.id),
        "started_at": started.isoformat(),
        "minutes": 30,
        "notes": "A: medición",
    }


def _new_rate(w: World) -> dict[str, Any]:
    """A rate line of A's second technician, another category at every call."""
    category = next(CATEGORIES)
    return {
        "technician_id": str(a_labour(w)["technician"]),
        "hourly_rate_minor": 18_000,
        "category": category.value if category else None,
    }


CASES = {
    ("GET", f"{P}{TICKET_LOGS}"): Case(params=_ticket, kind="list"),
    ("POST", f"{P}{TICKET_LOGS}"): Case(params=_ticket, body=_entry),
    ("POST", f"{P}{TICKET_LOGS}/start"): Case(
        params=_ticket, body=lambda w: {"technician_id": str(a_labour(w)["technician"])}
    ),
    ("POST", f"{P}{TICKET_LOGS}/stop"): Case(
        params=_ticket, body=lambda w: {"technician_id": str(w.a_technician.id)}
    ),
    ("GET", f"{P}/work-logs"): Case(params=_exists, kind="list"),
    ("GET", f"{P}/work-logs/{{log_id}}"): Case(params=_log),
    ("PATCH", f"{P}/work-logs/{{log_id}}"): Case(
        params=_log, body=lambda w: {"notes": "A: revisado", "billable": False}
    ),
    ("DELETE", f"{P}/work-logs/{{log_id}}"): Case(params=_log),
    ("GET", f"{P}/labour-rates"): Case(params=_exists, kind="list"),
    ("POST", f"{P}/labour-rates"): Case(body=_new_rate),
    ("GET", f"{P}/labour-rates/{{rate_id}}"): Case(params=_rate),
    ("PATCH", f"{P}/labour-rates/{{rate_id}}"): Case(
        params=_rate, body=lambda w: {"hourly_rate_minor": 16_000}
    ),
    ("DELETE", f"{P}/labour-rates/{{rate_id}}"): Case(params=_rate),
}
