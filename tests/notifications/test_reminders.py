"""Licence expiry reminders: at 60, 30 and 7 days, exactly once per licence and threshold."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.events.models import Event
from kerops.notifications.jobs import reminder_threshold
from kerops.notifications.models import CertificationReminder
from kerops.workforce.models import TechnicianCertification
from tests.fixtures.factories import Runner
from tests.fixtures.operations import add_certification
from tests.notifications.conftest import Site, inbox, run_job

TODAY = date(2030, 1, 10)


def remind(client: TestClient, day: date) -> None:
    run_job(client, "workforce.certification_reminders", today=day.isoformat())


def sent(run: Runner) -> list[tuple[Any, ...]]:
    async def read(session: AsyncSession) -> list[tuple[Any, ...]]:
        stmt = select(
            CertificationReminder.certification_id, CertificationReminder.days_before
        ).order_by(CertificationReminder.created_at)
        return [tuple(row) for row in (await session.execute(stmt)).all()]

    result: list[tuple[Any, ...]] = run(read)
    return result


def expiring_events(run: Runner) -> int:
    async def count(session: AsyncSession) -> int:
        stmt = select(func.count()).where(Event.type == "certification.expiring")
        return int((await session.execute(stmt)).scalar_one())

    return int(run(count))


def test_the_threshold_is_the_nearest_one_reached() -> None:
    assert [reminder_threshold(d) for d in (90, 61, 60, 45, 30, 8, 7, 0, -1)] == [
        None,
        None,
        60,
        60,
        30,
        30,
        7,
        7,
        None,
    ]


def test_reminders_go_out_at_60_30_and_7_days_once_each(
    client: TestClient, run: Runner, site: Site
) -> None:
    cert = add_certification(run, site.tech, "sec_class_b", TODAY + timedelta(days=60))
    for offset in range(0, 61):  # every day until it expires, each run twice
        remind(client, TODAY + timedelta(days=offset))
        remind(client, TODAY + timedelta(days=offset))
    assert sent(run) == [(cert, 60), (cert, 30), (cert, 7)]
    assert expiring_events(run) == 3
    notes = inbox(client, site.tech)
    assert [n["type"] for n in notes] == ["certification.expiring"] * 3
    assert "vence en 7 días" in notes[0]["title"]
    assert notes[0]["link"] == f"/api/v1/technicians/certifications/{cert}"
    # The technician's manager side: the client's owner (not the site's managers).
    assert len(inbox(client, site.owner)) == 3 and inbox(client, site.manager) == []


def test_a_vendor_technicians_reminder_goes_to_the_vendor_admins(
    client: TestClient, run: Runner, site: Site
) -> None:
    add_certification(run, site.vendor_tech, "gas", TODAY + timedelta(days=7))
    remind(client, TODAY)
    assert [n["type"] for n in inbox(client, site.vendor_tech)] == ["certification.expiring"]
    assert [n["type"] for n in inbox(client, site.vendor_admin)] == ["certification.expiring"]
    assert inbox(client, site.owner) == []


def test_a_licence_found_late_gets_only_the_nearest_reminder(
    client: TestClient, run: Runner, site: Site
) -> None:
    cert = add_certification(run, site.tech, "sec_class_b", TODAY + timedelta(days=5))
    add_certification(run, site.tech, "heights", TODAY + timedelta(days=90))
    add_certification(run, site.tech, "old", TODAY - timedelta(days=1))
    add_certification(run, site.tech, "forever", None)
    remind(client, TODAY)
    assert sent(run) == [(cert, 7)]


def test_a_renewed_licence_is_reminded_again(client: TestClient, run: Runner, site: Site) -> None:
    cert = add_certification(run, site.tech, "sec_class_b", TODAY + timedelta(days=7))
    remind(client, TODAY)

    async def renew(session: AsyncSession) -> None:
        await session.execute(
            update(TechnicianCertification).values(expires_date=TODAY + timedelta(days=400))
        )

    run(renew)
    remind(client, TODAY + timedelta(days=340))
    assert sent(run) == [(cert, 7), (cert, 60)]


def test_two_reminder_runs_at_once_send_each_reminder_once(
    client: TestClient, run: Runner, site: Site
) -> None:
    for days in (3, 20, 50):
        add_certification(run, site.tech, f"cert_{days}", TODAY + timedelta(days=days))
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    name, day = "workforce.certification_reminders", TODAY.isoformat()

    async def both() -> None:
        await asyncio.gather(jobs.run(name, today=day), jobs.run(name, today=day))

    client.portal.call(both)  # type: ignore[union-attr]
    assert sorted(days for _, days in sent(run)) == [7, 30, 60]
    assert expiring_events(run) == 3
    assert len(inbox(client, site.tech)) == 3
