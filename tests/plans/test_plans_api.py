"""The maintenance-plan API: rules, bad inputs, access and the due-date preview."""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import AssetMaintenancePlan
from kerops.assets.recurrence import LOCAL_DUE_TIME
from kerops.core.enums import UserRole
from kerops.tenancy.schemas import DEFAULT_TIMEZONE
from tests.fixtures.factories import Runner, make_locale, make_user, register_owner
from tests.fixtures.plans import (
    create_plan,
    date_plan_body,
    make_asset,
    meter_plan_body,
    plans_url,
    set_timezone,
)
from tests.fixtures.tenancy import Team, make_team, walk


@pytest.fixture
def team(client: TestClient, run: Runner) -> Team:
    """A client with two locales and people in every locale role."""
    return make_team(client, run)


@pytest.fixture
def asset(run: Runner, team: Team) -> uuid.UUID:
    """An asset of the team's locale 1 (timezone America/Santiago)."""
    return make_asset(run, team.client_id, team.locale1, meter_readings={"hours": 1200})


def _errors(response: Any) -> list[str]:
    return [str(e["loc"][-1]) for e in response.json().get("errors", [])]


def _preview(client: TestClient, team: Team, asset: uuid.UUID, plan: str, **query: Any) -> Any:
    return client.get(plans_url(asset, plan) + "/preview", params=query, headers=team.owner.headers)


# --- create --------------------------------------------------------------------------------------


def test_date_plan_copies_client_and_locale_from_the_asset(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.manager, asset, date_plan_body(lead_time_days=3))
    assert plan["asset_id"] == str(asset)
    assert plan["client_id"] == str(team.client_id)
    assert plan["locale_id"] == str(team.locale1)
    assert plan["anchor"] == "calendar"
    assert plan["lead_time_days"] == 3
    assert plan["meter_name"] is None


def test_next_due_at_is_the_first_occurrence_from_now_at_local_8am(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body(start_date="2020-01-31"))
    due = datetime.fromisoformat(plan["next_due_at"])
    assert due.tzinfo is not None
    assert due >= datetime.now(UTC)
    local = due.astimezone(ZoneInfo(DEFAULT_TIMEZONE))
    assert local.time() == LOCAL_DUE_TIME
    assert local.day == min(31, calendar.monthrange(local.year, local.month)[1])


def test_start_date_defaults_to_today_in_the_locale(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    body = date_plan_body()
    del body["start_date"]
    plan = create_plan(client, team.owner, asset, body)
    assert plan["start_date"] is not None
    assert plan["next_due_at"] is not None


def test_meter_plan_next_due_defaults_to_reading_plus_interval(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, meter_plan_body())
    assert plan["next_meter_due"] == 1700
    assert plan["next_due_at"] is None
    assert plan["anchor"] is None and plan["lead_time_days"] is None


def test_meter_plan_without_a_reading_is_due_at_the_interval(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, meter_plan_body(meter_name="cycles"))
    assert plan["next_meter_due"] == 500


def test_checklist_and_defaults_are_stored(
    client: TestClient, run: Runner, team: Team, asset: uuid.UUID
) -> None:
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    body = date_plan_body(
        checklist_template=[
            {"label": "Presión", "kind": "number", "min": 1.5, "max": 3},
            {"label": "Filtro limpio", "kind": "pass_fail"},
        ],
        default_priority="high",
        required_skill="hvac",
        default_assignee_id=str(tech.id),
    )
    plan = create_plan(client, team.owner, asset, body)
    assert plan["checklist_template"][0] == {
        "label": "Presión",
        "kind": "number",
        "min": 1.5,
        "max": 3.0,
    }
    assert plan["checklist_template"][1]["kind"] == "pass_fail"
    assert (plan["default_priority"], plan["required_skill"]) == ("high", "hvac")
    assert plan["default_assignee_id"] == str(tech.id)


# --- bad inputs ----------------------------------------------------------------------------------


def test_meter_fields_on_a_date_plan_are_refused_by_name(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    body = date_plan_body(meter_name="hours", meter_interval=10)
    response = client.post(plans_url(asset), json=body, headers=team.owner.headers)
    assert response.status_code == 422
    assert sorted(_errors(response)) == ["meter_interval", "meter_name"]
    assert response.headers["content-type"].startswith("application/problem+json")


def test_date_fields_on_a_meter_plan_are_refused_by_name(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    body = meter_plan_body(interval_unit="day", lead_time_days=2)
    response = client.post(plans_url(asset), json=body, headers=team.owner.headers)
    assert response.status_code == 422
    assert sorted(_errors(response)) == ["interval_unit", "lead_time_days"]


def test_missing_trigger_fields_are_named(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    response = client.post(
        plans_url(asset), json={"name": "x", "trigger": "date"}, headers=team.owner.headers
    )
    assert response.status_code == 422
    assert sorted(_errors(response)) == ["interval_count", "interval_unit"]
    response = client.post(
        plans_url(asset), json={"name": "x", "trigger": "meter"}, headers=team.owner.headers
    )
    assert sorted(_errors(response)) == ["meter_interval", "meter_name"]


@pytest.mark.parametrize(
    "item",
    [
        {"label": "Presión", "kind": "number", "min": 5, "max": 1},
        {"label": "Limpio", "kind": "check", "min": 1},
        {"label": "x", "kind": "photo"},
        {"label": ""},
    ],
)
def test_bad_checklist_items_are_refused(
    client: TestClient, team: Team, asset: uuid.UUID, item: dict[str, Any]
) -> None:
    body = date_plan_body(checklist_template=[item])
    response = client.post(plans_url(asset), json=body, headers=team.owner.headers)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "fields",
    [
        {"required_skill": "welding"},
        {"interval_count": 0},
        {"interval_unit": "hour"},
        {"lead_time_days": -1},
        {"anchor": "sometimes"},
        {"default_priority": "urgent"},
        {"start_date": "2026-02-30"},
    ],
)
def test_bad_date_plan_values_are_refused(
    client: TestClient, team: Team, asset: uuid.UUID, fields: dict[str, Any]
) -> None:
    response = client.post(
        plans_url(asset), json=date_plan_body(**fields), headers=team.owner.headers
    )
    assert response.status_code == 422, response.text


def test_meter_interval_must_be_positive(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    response = client.post(
        plans_url(asset), json=meter_plan_body(meter_interval=0), headers=team.owner.headers
    )
    assert response.status_code == 422


def test_unknown_assignee_is_404(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    body = date_plan_body(default_assignee_id=str(uuid.uuid4()))
    response = client.post(plans_url(asset), json=body, headers=team.owner.headers)
    assert response.status_code == 404


def test_assignee_of_another_client_is_404(
    client: TestClient, run: Runner, team: Team, asset: uuid.UUID
) -> None:
    other = register_owner(client)
    tech = make_user(client, run, role=UserRole.technician, client_id=other.client_id)
    body = date_plan_body(default_assignee_id=str(tech.id))
    response = client.post(plans_url(asset), json=body, headers=team.owner.headers)
    assert response.status_code == 404


def test_assignee_who_is_not_a_technician_is_422(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    body = date_plan_body(default_assignee_id=str(team.manager.id))
    response = client.post(plans_url(asset), json=body, headers=team.owner.headers)
    assert response.status_code == 422
    assert _errors(response) == ["default_assignee_id"]


# --- access --------------------------------------------------------------------------------------


def test_foreign_asset_is_404(client: TestClient, run: Runner, team: Team) -> None:
    other = register_owner(client)
    assert other.client_id is not None
    locale = make_locale(run, other.client_id)
    foreign = make_asset(run, other.client_id, locale)
    assert (
        client.post(
            plans_url(foreign), json=date_plan_body(), headers=team.owner.headers
        ).status_code
        == 404
    )
    assert client.get(plans_url(foreign), headers=team.owner.headers).status_code == 404


def test_unknown_asset_is_404(client: TestClient, team: Team) -> None:
    response = client.get(plans_url(uuid.uuid4()), headers=team.owner.headers)
    assert response.status_code == 404


def test_plan_of_another_asset_is_404(
    client: TestClient, run: Runner, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body())
    sibling = make_asset(run, team.client_id, team.locale1, "Otro")
    response = client.get(plans_url(sibling, plan["id"]), headers=team.owner.headers)
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["requester", "viewer"])
def test_requester_and_viewer_read_but_cannot_write(
    client: TestClient, team: Team, asset: uuid.UUID, who: str
) -> None:
    account = getattr(team, who)
    plan = create_plan(client, team.owner, asset, date_plan_body())
    assert client.get(plans_url(asset), headers=account.headers).status_code == 200
    create = client.post(plans_url(asset), json=date_plan_body(), headers=account.headers)
    patch = client.patch(plans_url(asset, plan["id"]), json={"name": "x"}, headers=account.headers)
    delete = client.delete(plans_url(asset, plan["id"]), headers=account.headers)
    assert (create.status_code, patch.status_code, delete.status_code) == (403, 403, 403)


def test_manager_of_another_locale_gets_404(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body())
    headers = team.manager2.headers
    assert client.get(plans_url(asset, plan["id"]), headers=headers).status_code == 404
    assert client.post(plans_url(asset), json=date_plan_body(), headers=headers).status_code == 404


def test_technician_cannot_see_plans_of_unassigned_assets(
    client: TestClient, run: Runner, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body())
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    assert client.get(plans_url(asset), headers=tech.headers).status_code == 404
    assert client.get(plans_url(asset, plan["id"]), headers=tech.headers).status_code == 404
    preview = client.get(plans_url(asset, plan["id"]) + "/preview", headers=tech.headers)
    assert preview.status_code == 404


# --- list, update, delete ------------------------------------------------------------------------


def test_list_filters_by_trigger_and_active(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    dated = create_plan(client, team.owner, asset, date_plan_body(name="A"))
    metered = create_plan(client, team.owner, asset, meter_plan_body(name="B"))
    idle = create_plan(client, team.owner, asset, date_plan_body(name="C", is_active=False))
    url = plans_url(asset)

    def ids(**query: Any) -> list[str]:
        return [p["id"] for p in walk(client, team.owner, url, **query)[0]]

    assert ids() == [dated["id"], metered["id"], idle["id"]]
    assert ids(trigger="meter") == [metered["id"]]
    assert ids(is_active="false") == [idle["id"]]
    assert ids(trigger="date", is_active="true") == [dated["id"]]


def test_list_pages_by_next_due_at_over_dated_plans(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    starts = ["2026-01-05", "2026-01-03", "2026-01-04"]
    made = [
        create_plan(client, team.owner, asset, date_plan_body(interval_unit="year", start_date=s))
        for s in starts
    ]
    create_plan(client, team.owner, asset, meter_plan_body())
    items, pages = walk(client, team.owner, plans_url(asset), sort="next_due_at", limit=1)
    assert [p["id"] for p in items] == [made[1]["id"], made[2]["id"], made[0]["id"]]
    assert pages >= 3
    items, _ = walk(client, team.owner, plans_url(asset), sort="-next_due_at", limit=2)
    assert [p["id"] for p in items] == [made[0]["id"], made[2]["id"], made[1]["id"]]


def test_unknown_sort_is_422(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    response = client.get(plans_url(asset), params={"sort": "trigger"}, headers=team.owner.headers)
    assert response.status_code == 422


def test_update_recomputes_next_due_at(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body(start_date="2030-01-31"))
    assert plan["next_due_at"].startswith("2030-01-31")
    response = client.patch(
        plans_url(asset, plan["id"]),
        json={"start_date": "2030-03-15", "interval_unit": "week"},
        headers=team.manager.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["next_due_at"].startswith("2030-03-15")
    assert response.json()["interval_unit"] == "week"


def test_update_refuses_fields_of_the_other_trigger_and_the_trigger(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, meter_plan_body())
    url = plans_url(asset, plan["id"])
    response = client.patch(url, json={"anchor": "completion"}, headers=team.owner.headers)
    assert response.status_code == 422
    assert _errors(response) == ["anchor"]
    response = client.patch(url, json={"trigger": "date"}, headers=team.owner.headers)
    assert response.status_code == 422
    response = client.patch(url, json={"name": None}, headers=team.owner.headers)
    assert response.status_code == 422


def test_update_meter_plan(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    plan = create_plan(client, team.owner, asset, meter_plan_body())
    response = client.patch(
        plans_url(asset, plan["id"]),
        json={"meter_interval": 250, "next_meter_due": 1450, "required_skill": None},
        headers=team.owner.headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["meter_interval"], response.json()["next_meter_due"]) == (250, 1450)


def test_delete_removes_the_plan(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body())
    url = plans_url(asset, plan["id"])
    assert client.delete(url, headers=team.manager.headers).status_code == 204
    assert client.get(url, headers=team.owner.headers).status_code == 404


# --- preview -------------------------------------------------------------------------------------


def test_preview_lists_monthly_dates_clamped_in_santiago(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(
        client, team.owner, asset, date_plan_body(start_date="2027-01-31", lead_time_days=2)
    )
    response = _preview(client, team, asset, plan["id"], count=4, after="2027-01-01T00:00:00Z")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "America/Santiago"
    assert body["thresholds"] == []
    assert [o["local_date"] for o in body["occurrences"]] == [
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
        "2027-04-30",
    ]
    first = body["occurrences"][0]
    # January is summer time in Chile (-03): 08:00 local is 11:00 UTC.
    assert datetime.fromisoformat(first["due_at"]) == datetime(2027, 1, 31, 11, tzinfo=UTC)
    assert datetime.fromisoformat(first["generate_at"]) == datetime(2027, 1, 29, 11, tzinfo=UTC)


def test_preview_follows_the_locale_timezone(
    client: TestClient, run: Runner, team: Team, asset: uuid.UUID
) -> None:
    set_timezone(run, team.locale1, "Europe/Madrid")
    plan = create_plan(
        client,
        team.owner,
        asset,
        date_plan_body(interval_unit="day", start_date="2026-10-24"),
    )
    response = _preview(client, team, asset, plan["id"], count=2, after="2026-10-24T00:00:00Z")
    dues = [datetime.fromisoformat(o["due_at"]) for o in response.json()["occurrences"]]
    assert dues == [datetime(2026, 10, 24, 6, tzinfo=UTC), datetime(2026, 10, 25, 7, tzinfo=UTC)]


def test_preview_of_a_completion_plan_without_completion_starts_at_start_date(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(
        client,
        team.owner,
        asset,
        date_plan_body(anchor="completion", interval_unit="week", start_date="2031-05-01"),
    )
    response = _preview(client, team, asset, plan["id"], count=2)
    assert [o["local_date"] for o in response.json()["occurrences"]] == [
        "2031-05-01",
        "2031-05-08",
    ]


def test_preview_of_a_completion_plan_runs_from_the_last_completion(
    client: TestClient, run: Runner, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(
        client,
        team.owner,
        asset,
        date_plan_body(anchor="completion", interval_unit="month", start_date="2030-01-01"),
    )

    async def complete(session: AsyncSession) -> None:
        await session.execute(
            update(AssetMaintenancePlan)
            .where(AssetMaintenancePlan.id == uuid.UUID(plan["id"]))
            .values(last_completed_at=datetime(2031, 3, 10, 15, tzinfo=UTC))
        )

    run(complete)
    response = _preview(client, team, asset, plan["id"], count=2, after="2031-01-01T00:00:00Z")
    assert [o["local_date"] for o in response.json()["occurrences"]] == [
        "2031-04-10",
        "2031-05-10",
    ]


def test_preview_of_a_meter_plan_lists_thresholds(
    client: TestClient, team: Team, asset: uuid.UUID
) -> None:
    plan = create_plan(client, team.owner, asset, meter_plan_body())
    response = _preview(client, team, asset, plan["id"], count=3)
    body = response.json()
    assert body["occurrences"] == []
    assert body["meter_name"] == "hours"
    assert [t["meter_value"] for t in body["thresholds"]] == [1700, 2200, 2700]


def test_preview_count_defaults_to_10(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body(interval_unit="day"))
    assert len(_preview(client, team, asset, plan["id"]).json()["occurrences"]) == 10


@pytest.mark.parametrize(
    "query", [{"count": 0}, {"count": 101}, {"after": "2026-01-01T00:00:00"}, {"after": "x"}]
)
def test_preview_bad_query_is_422(
    client: TestClient, team: Team, asset: uuid.UUID, query: dict[str, Any]
) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body())
    assert _preview(client, team, asset, plan["id"], **query).status_code == 422


def test_preview_readable_by_viewer(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body())
    url = plans_url(asset, plan["id"]) + "/preview"
    assert client.get(url, headers=team.viewer.headers).status_code == 200


def test_start_date_is_a_local_date(client: TestClient, team: Team, asset: uuid.UUID) -> None:
    plan = create_plan(client, team.owner, asset, date_plan_body(start_date="2031-07-01"))
    assert date.fromisoformat(plan["start_date"]) == date(2031, 7, 1)
    # 08:00 in Santiago winter (-04) is 12:00 UTC on the same day.
    assert datetime.fromisoformat(plan["next_due_at"]) == datetime(2031, 7, 1, 12, tzinfo=UTC)
