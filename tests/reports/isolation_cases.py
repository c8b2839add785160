"""Isolation cases of the list exports and of reports."""

from __future__ import annotations

from typing import Any

from kerops.reports.lists import LISTS
from tests.isolation import Case, World, public

P = "/api/v1"


def _a_rows(world: World) -> dict[str, Any]:
    """The exports read A's rows made by the other cases (A's ids must never appear)."""
    return {}


def a_report(world: World) -> str:
    """A report of A's owner, written (the job runs before the request answers in tests)."""

    def make() -> str:
        response = world.client.post(
            f"{P}/reports", json={"kind": "tickets"}, headers=world.a_owner.headers
        )
        assert response.status_code == 202, response.text
        report_id: str = response.json()["id"]
        world.remember(report_id)
        return report_id

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
        body=lambda w: {"kind": "tickets", "filters": {"locale_id": str(w.a_locale)}},
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
