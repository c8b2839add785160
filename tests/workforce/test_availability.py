"""Availability: working minus absences, clipped to the window, merged; who may ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from kerops.core.enums import ShiftType
from kerops.workforce.service import merge, subtract
from tests.fixtures.factories import Account, Runner
from tests.fixtures.workforce import at, availability_url, create_shift, make_crew


def _get(client: TestClient, account: Account, technician_id: Any, start: str, end: str) -> Any:
    return client.get(
        availability_url(technician_id),
        params={"from": start, "to": end},
        headers=account.headers,
    )


def _spans(items: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(i["starts_at"][:16], i["ends_at"][:16]) for i in items]


def test_vacation_inside_working_shift_cuts_it(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    create_shift(client, crew.owner, crew.tech.id, at(0, 12), at(0, 14), "vacation")
    response = _get(client, crew.owner, crew.tech.id, at(0), at(1))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["technician_id"] == str(crew.tech.id)
    assert _spans(body["working"]) == [("2030-03-04T09:00", "2030-03-04T18:00")]
    assert _spans(body["unavailable"]) == [("2030-03-04T12:00", "2030-03-04T14:00")]
    assert _spans(body["available"]) == [
        ("2030-03-04T09:00", "2030-03-04T12:00"),
        ("2030-03-04T14:00", "2030-03-04T18:00"),
    ]


def test_shifts_are_clipped_and_merged(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0, 20), at(1, 2))
    create_shift(client, crew.owner, crew.tech.id, at(1, 2), at(1, 6))  # back to back: merged
    create_shift(client, crew.owner, crew.tech.id, at(1, 9), at(1, 18))
    create_shift(client, crew.owner, crew.tech.id, at(1, 17), at(2, 10), "sick_leave")
    create_shift(client, crew.owner, crew.tech.id, at(2, 10), at(2, 12), "day_off")
    create_shift(client, crew.owner, crew.tech2.id, at(1, 0), at(1, 23))  # someone else
    body = _get(client, crew.owner, crew.tech.id, at(1), at(2)).json()
    assert _spans(body["working"]) == [
        ("2030-03-05T00:00", "2030-03-05T06:00"),
        ("2030-03-05T09:00", "2030-03-05T18:00"),
    ]
    assert _spans(body["unavailable"]) == [("2030-03-05T17:00", "2030-03-06T00:00")]
    assert _spans(body["available"]) == [
        ("2030-03-05T00:00", "2030-03-05T06:00"),
        ("2030-03-05T09:00", "2030-03-05T17:00"),
    ]


def test_empty_window(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    body = _get(client, crew.tech, crew.tech.id, at(0), at(1)).json()
    assert body["working"] == body["unavailable"] == body["available"] == []


def test_window_must_be_ordered_and_short(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    assert _get(client, crew.owner, crew.tech.id, at(1), at(0)).status_code == 422
    assert _get(client, crew.owner, crew.tech.id, at(1), at(1)).status_code == 422
    assert _get(client, crew.owner, crew.tech.id, at(0), at(62, 1)).status_code == 422
    assert _get(client, crew.owner, crew.tech.id, at(0), at(62)).status_code == 200


def test_naive_window_is_422(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    response = _get(client, crew.owner, crew.tech.id, "2030-03-04T00:00:00", at(1))
    assert response.status_code == 422


def test_who_may_ask(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    allowed = [crew.owner, crew.manager, crew.tech, crew.staff]
    for account in allowed:
        assert _get(client, account, crew.tech.id, at(0), at(1)).status_code == 200
    refused = [crew.tech2, crew.requester, crew.other_owner, crew.vendor_admin]
    for account in refused:
        assert _get(client, account, crew.tech.id, at(0), at(1)).status_code == 404
    assert _get(client, crew.vendor_admin, crew.vendor_tech.id, at(0), at(1)).status_code == 200
    assert _get(client, crew.owner, crew.vendor_tech.id, at(0), at(1)).status_code == 404


def test_non_technician_is_404(client: TestClient, run: Runner) -> None:
    crew = make_crew(client, run)
    assert _get(client, crew.owner, crew.manager.id, at(0), at(1)).status_code == 404


def test_merge_and_subtract() -> None:
    t0 = datetime(2030, 1, 1, tzinfo=UTC)

    def h(n: int) -> datetime:
        return t0 + timedelta(hours=n)

    assert merge([(h(5), h(7)), (h(0), h(2)), (h(1), h(3)), (h(3), h(4))]) == [
        (h(0), h(4)),
        (h(5), h(7)),
    ]
    work = [(h(0), h(10)), (h(12), h(14))]
    cuts = [(h(-1), h(1)), (h(3), h(4)), (h(9), h(13))]
    assert subtract(work, cuts) == [(h(1), h(3)), (h(4), h(9)), (h(13), h(14))]
    assert subtract(work, [(h(0), h(20))]) == []
    assert ShiftType.working.value == "working"
