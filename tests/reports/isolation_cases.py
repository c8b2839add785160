"""Isolation cases of the list exports and of reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ReportStatus
from kerops.core.storage.backends import storage_of
from kerops.core.types import utcnow, uuid7
from kerops.reports.lists import LISTS
from kerops.reports.models import Report
from tests.fixtures.factories import Runner
from tests.isolation import Case, World, public

P = "/api/v1"


def _insert(run: Runner, model: Any, **values: Any) -> None:
    async def create(session: AsyncSession) -> None:
        await session.execute(insert(model).values(**values))

    run(create)


def _a_rows(world: World) -> dict[str, Any]:
    """The exports read A's rows made by the other cases (A's ids must never appear)."""
    return {}


def a_report(world: World) -> str:
    """A written report of A's owner (a Core insert and its file in the storage: no audit
    rows, so the isolation test's count of A's audit rows stays put)."""

    def make() -> str:
        assert world.a_owner.client_id is not None
        report_id = uuid7()
        key = f"{world.a_owner.client_id}/reports/{report_id}/tickets.csv"
        body = "\ufeffTicket\r\n".encode()
        storage = storage_of(world.client.app.state)
        world.client.portal.call(  # type: ignore[union-attr]
            lambda: storage.put_bytes(key, body, content_type="text/csv")
        )
        _insert(
            world.run,
            Report,
            id=report_id,
            client_id=world.a_owner.client_id,
            requested_by_id=world.a_owner.id,
            kind="tickets",
            format="csv",
            filters={},
            status=ReportStatus.done,
            row_count=0,
            filename="tickets.csv",
            content_type="text/csv; charset=utf-8",
            size_bytes=len(body),
            storage_key=key,
            expires_at=utcnow() + timedelta(days=1),
        )
        world.remember(report_id)
        return str(report_id)

    result: str = world.once("reports_a_report", make)
    return result


def _report(world: World) -> dict[str, Any]:
    return {"report_id": a_report(world)}


CASES: dict[tuple[str, str], Case] = {
    # Every export lists what the caller reads: none of A's rows.
    **{
        ("GET", f"{P}{export.path}/export"): Case(params=_a_rows, kind="list")
        for export in LISTS.values()
    },
    ("POST", f"{P}/reports"): Case(
        # A report names no object: its rows are read with the requester's reach when written.
        body=lambda w: {"kind": "tickets", "filters": {"priority": "high"}},
        expect=frozenset({202, 403, 404}),
    ),
    ("GET", f"{P}/reports"): Case(params=_report, kind="list"),
    ("GET", f"{P}/reports/{{report_id}}"): Case(params=_report),
    ("GET", f"{P}/reports/{{report_id}}/download"): Case(params=_report),
    ("GET", f"{P}/reports/{{report_id}}/link"): Case(params=_report),
}

PUBLIC = {
    ("GET", f"{P}/report-files/{{token}}"): public(
        "the signed, expiring token is the credential (it names one report, signed with the "
        "app's secret); without it the answer is a 403 and after its time a 410"
    ),
}
