"""Shifts: who plans whose, validation, overlaps (also concurrent), lists, change and delete."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import walk
from tests.fixtures.workforce import SHIFTS, Crew, at, create_shift, make_crew, post_shift


def _crew(client: TestClient, run: Runner) -> Crew:
    return make_crew(client, run)


# --- create and who manages whom -----------------------------------------------------------------


def test_owner_plans_shift_of_own_technician(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    body = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    assert body["technician_id"] == str(crew.tech.id)
    assert body["client_id"] == str(crew.owner.client_id)
    assert body["vendor_id"] is None
    assert body["shift_type"] == "working"
    assert body["starts_at"].startswith("2030-03-04T09:00:00")


def test_shift_create_is_audited(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    body = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))

    async def entries(session: AsyncSession) -> list[AuditLog]:
        stmt = select(AuditLog).where(AuditLog.record_id == body["id"])
        return list((await session.execute(stmt)).scalars().all())

    rows = run(entries)
    assert [(r.action, r.table_name) for r in rows] == [("create", "technician_shifts")]
    assert str(rows[0].client_id) == str(crew.owner.client_id)


def test_vendor_admin_plans_own_vendors_technician(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    body = create_shift(client, crew.vendor_admin, crew.vendor_tech.id, at(0, 9), at(0, 18))
    assert body["vendor_id"] == str(crew.vendor)
    assert body["client_id"] is None


def test_vendor_admin_cannot_plan_client_technician(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.vendor_admin, crew.tech.id, at(0, 9), at(0, 18))
    assert response.status_code == 404


def test_other_vendor_admin_cannot_plan_vendor_technician(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.other_vendor_admin, crew.vendor_tech.id, at(0, 9), at(0, 18))
    assert response.status_code == 404


def test_owner_of_other_client_gets_404(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.other_owner, crew.tech.id, at(0, 9), at(0, 18))
    assert response.status_code == 404


def test_owner_cannot_plan_vendor_technician(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.owner, crew.vendor_tech.id, at(0, 9), at(0, 18))
    assert response.status_code == 404


def test_staff_plans_anyone(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    create_shift(client, crew.staff, crew.vendor_tech.id, at(0, 9), at(0, 18))
    create_shift(client, crew.staff, crew.other_tech.id, at(0, 9), at(0, 18))


def test_technician_cannot_plan_own_shift(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.tech, crew.tech.id, at(0, 9), at(0, 18))
    assert response.status_code == 403


def test_manager_cannot_plan_shift(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.manager, crew.tech.id, at(0, 9), at(0, 18))
    assert response.status_code == 403


def test_non_technician_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.owner, crew.manager.id, at(0, 9), at(0, 18))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "technician_id"]


# --- bad input -----------------------------------------------------------------------------------


def test_naive_datetime_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.owner, crew.tech.id, "2030-03-04T09:00:00", at(0, 18))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_ends_before_starts_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.owner, crew.tech.id, at(0, 18), at(0, 9))
    assert response.status_code == 422


def test_empty_shift_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 9))
    assert response.status_code == 422


def test_shift_longer_than_31_days_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    assert post_shift(client, crew.owner, crew.tech.id, at(0), at(31, 1)).status_code == 422
    assert post_shift(client, crew.owner, crew.tech.id, at(0), at(31)).status_code == 201


def test_offsets_are_stored_in_utc(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    body = create_shift(
        client, crew.owner, crew.tech.id, "2030-03-04T09:00:00-03:00", "2030-03-04T18:00:00-03:00"
    )
    assert body["starts_at"].startswith("2030-03-04T12:00:00")


def test_unknown_field_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = post_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18), client_id="x")
    assert response.status_code == 422


# --- overlaps ------------------------------------------------------------------------------------


def test_partial_overlap_is_409_naming_the_shift(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    first = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    response = post_shift(client, crew.owner, crew.tech.id, at(0, 17), at(0, 20))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "shift_overlap"
    assert body["overlapping_shift_id"] == first["id"]
    assert first["id"] in body["detail"]


def test_containing_overlap_is_409(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    assert post_shift(client, crew.owner, crew.tech.id, at(0, 8), at(0, 19)).status_code == 409
    assert post_shift(client, crew.owner, crew.tech.id, at(0, 10), at(0, 11)).status_code == 409


def test_back_to_back_is_allowed(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    create_shift(client, crew.owner, crew.tech.id, at(0, 18), at(0, 22))
    create_shift(client, crew.owner, crew.tech.id, at(0, 5), at(0, 9))


def test_other_technician_is_not_affected(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    create_shift(client, crew.owner, crew.tech2.id, at(0, 9), at(0, 18))


def test_two_absences_may_not_overlap(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0), at(5), "vacation")
    response = post_shift(client, crew.owner, crew.tech.id, at(4), at(6), "sick_leave")
    assert response.status_code == 409


def test_absence_may_lie_over_working_time(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    create_shift(client, crew.owner, crew.tech.id, at(0, 14), at(0, 18), "sick_leave")


def test_update_into_overlap_is_409(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    first = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    second = create_shift(client, crew.owner, crew.tech.id, at(1, 9), at(1, 18))
    response = client.patch(
        f"{SHIFTS}/{second['id']}", json={"starts_at": at(0, 17)}, headers=crew.owner.headers
    )
    assert response.status_code == 409
    assert response.json()["overlapping_shift_id"] == first["id"]


def test_update_does_not_collide_with_itself(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    shift = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    response = client.patch(
        f"{SHIFTS}/{shift['id']}",
        json={"starts_at": at(0, 8), "notes": "early"},
        headers=crew.owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["notes"] == "early"


def test_update_to_ends_before_starts_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    shift = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    response = client.patch(
        f"{SHIFTS}/{shift['id']}", json={"ends_at": at(0, 8)}, headers=crew.owner.headers
    )
    assert response.status_code == 422


def test_update_null_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    shift = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    response = client.patch(
        f"{SHIFTS}/{shift['id']}", json={"starts_at": None}, headers=crew.owner.headers
    )
    assert response.status_code == 422


def _race(client: TestClient, crew: Crew, day: int) -> list[Any]:
    """Send two overlapping creates for one technician at the same moment."""
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def attempt(start: float, end: float) -> None:
        barrier.wait()
        results.append(post_shift(client, crew.owner, crew.tech.id, at(day, start), at(day, end)))

    threads = [
        threading.Thread(target=attempt, args=(9, 18)),
        threading.Thread(target=attempt, args=(10, 19)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_overlapping_creates_one_wins(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    for day in range(4):
        results = _race(client, crew, day)
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 409], [r.text for r in results]
    items, _ = walk(client, crew.owner, SHIFTS, technician_id=str(crew.tech.id))
    assert len(items) == 4


# --- reads ---------------------------------------------------------------------------------------


def test_technician_reads_only_own_shifts(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    mine = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    theirs = create_shift(client, crew.owner, crew.tech2.id, at(0, 9), at(0, 18))
    items, _ = walk(client, crew.tech, SHIFTS)
    assert [i["id"] for i in items] == [mine["id"]]
    assert client.get(f"{SHIFTS}/{mine['id']}", headers=crew.tech.headers).status_code == 200
    assert client.get(f"{SHIFTS}/{theirs['id']}", headers=crew.tech.headers).status_code == 404


def test_technician_cannot_change_own_shift(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    shift = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    url = f"{SHIFTS}/{shift['id']}"
    assert client.patch(url, json={"notes": "x"}, headers=crew.tech.headers).status_code == 403
    assert client.delete(url, headers=crew.tech.headers).status_code == 403


def test_site_manager_reads_client_shifts(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    shift = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    create_shift(client, crew.vendor_admin, crew.vendor_tech.id, at(0, 9), at(0, 18))
    items, _ = walk(client, crew.manager, SHIFTS)
    assert [i["id"] for i in items] == [shift["id"]]
    url = f"{SHIFTS}/{shift['id']}"
    assert client.patch(url, json={"notes": "x"}, headers=crew.manager.headers).status_code == 403


def test_requester_sees_no_shifts(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    shift = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    items, _ = walk(client, crew.requester, SHIFTS)
    assert items == []
    assert client.get(f"{SHIFTS}/{shift['id']}", headers=crew.requester.headers).status_code == 404


def test_vendor_admin_lists_only_own_vendor(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    theirs = create_shift(client, crew.vendor_admin, crew.vendor_tech.id, at(0, 9), at(0, 18))
    items, _ = walk(client, crew.vendor_admin, SHIFTS)
    assert [i["id"] for i in items] == [theirs["id"]]
    items, _ = walk(client, crew.other_vendor_admin, SHIFTS)
    assert items == []


def test_list_filters_and_window(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    a = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    b = create_shift(client, crew.owner, crew.tech.id, at(1, 9), at(1, 18))
    c = create_shift(client, crew.owner, crew.tech.id, at(2), at(3), "day_off")
    d = create_shift(client, crew.owner, crew.tech2.id, at(1, 9), at(1, 18))
    items, pages = walk(client, crew.owner, SHIFTS, limit=1)
    assert [i["id"] for i in items] == [a["id"], b["id"], d["id"], c["id"]]
    assert pages == 4
    items, _ = walk(client, crew.owner, SHIFTS, technician_id=str(crew.tech.id))
    assert {i["id"] for i in items} == {a["id"], b["id"], c["id"]}
    items, _ = walk(client, crew.owner, SHIFTS, shift_type="day_off")
    assert [i["id"] for i in items] == [c["id"]]
    # The window keeps shifts that overlap it; touching ends do not count.
    items, _ = walk(client, crew.owner, SHIFTS, **{"from": at(0, 18), "to": at(1, 10)})
    assert {i["id"] for i in items} == {b["id"], d["id"]}
    items, _ = walk(client, crew.owner, SHIFTS, sort="-starts_at")
    assert items[0]["id"] == c["id"]


def test_list_window_naive_is_422(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    response = client.get(
        SHIFTS, params={"from": "2030-03-04T00:00:00"}, headers=crew.owner.headers
    )
    assert response.status_code == 422


def test_delete_shift(client: TestClient, run: Runner) -> None:
    crew = _crew(client, run)
    shift = create_shift(client, crew.owner, crew.tech.id, at(0, 9), at(0, 18))
    url = f"{SHIFTS}/{shift['id']}"
    assert client.delete(url, headers=crew.other_owner.headers).status_code == 404
    assert client.delete(url, headers=crew.owner.headers).status_code == 204
    assert client.get(url, headers=crew.owner.headers).status_code == 404
