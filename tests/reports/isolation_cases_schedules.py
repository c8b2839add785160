"""Isolation cases of report schedules, aimed at client A's schedule."""

from __future__ import annotations

import uuid
from datetime import date, time
from typing import Any

from kerops.core.enums import ReportFrequency
from kerops.reports.models import ReportDelivery, ReportSchedule
from tests.fixtures.assets import _insert
from tests.isolation import Case, World

P = "/api/v1"
SCHEDULE = "/report-schedules/{schedule_id}"


def a_schedule(w: World) -> uuid.UUID:
    """A's weekly schedule to its owner, with one period delivered."""

    def make() -> uuid.UUID:
        client_id = w.a_owner.client_id
        schedule = _insert(
            w.run,
            ReportSchedule,
            client_id=client_id,
            name="A informe semanal",
            kind="tickets",
            format="xlsx",
            filters={},
            period="last_week",
            frequency=ReportFrequency.weekly,
            weekday=0,
            time_of_day=time(8),
            timezone="America/Santiago",
            recipients=[str(w.a_owner.id)],
        )
        delivery = _insert(
            w.run,
            ReportDelivery,
            client_id=client_id,
            schedule_id=schedule,
            period_start=date(2026, 11, 30),
            period_end=date(2026, 12, 6),
            outcome="sent",
        )
        w.remember(schedule, delivery)
        return schedule

    found: uuid.UUID = w.once("reports_a_schedule", make)
    return found


def _params(w: World) -> dict[str, Any]:
    return {"schedule_id": a_schedule(w)}


def _new(w: World) -> dict[str, Any]:
    # The caller's own client: naming A's owner as recipient is refused (422) for B's people.
    return {
        "name": "Semanal",
        "kind": "tickets",
        "period": "last_week",
        "frequency": "weekly",
        "weekday": 0,
        "time_of_day": "08:00",
        "recipients": [str(w.a_owner.id)],
    }


CASES = {
    ("POST", f"{P}/report-schedules"): Case(body=_new, expect=frozenset({403, 422})),
    ("GET", f"{P}/report-schedules"): Case(params=_params, kind="list"),
    ("GET", f"{P}{SCHEDULE}"): Case(params=_params),
    ("PATCH", f"{P}{SCHEDULE}"): Case(params=_params, body=lambda w: {"name": "x"}),
    ("DELETE", f"{P}{SCHEDULE}"): Case(params=_params),
    ("GET", f"{P}{SCHEDULE}/deliveries"): Case(params=_params),
}
