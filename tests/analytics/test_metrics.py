"""Every metric against the hand-built April 2026 (tests/analytics/world.py): each expected
value is worked out here, its arithmetic in the comments."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.core.enums import LocalRole, UserRole
from tests.analytics.world import World, build, technician_of
from tests.fixtures.factories import Account, Runner, add_member, make_user

P = "/api/v1/analytics"
APRIL = {"from": "2026-04-01", "to": "2026-04-30"}


@pytest.fixture
def month(client: TestClient, run: Runner) -> tuple[World, Account, Account]:
    owner = make_user(client, run, role=UserRole.client_owner)
    technician = make_user(client, run, role=UserRole.technician, client_id=owner.client_id)
    technician_of(run, technician)
    return build(run, owner, technician), owner, technician


def _get(client: TestClient, account: Account, metric: str, **query: Any) -> dict[str, Any]:
    response = client.get(f"{P}/{metric}", params={**APRIL, **query}, headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _point(body: dict[str, Any], start: str) -> dict[str, Any]:
    found = [p for p in body["points"] if p["start"] == start]
    assert len(found) == 1, start
    return found[0]


def _rows(body: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in body["rows"] if r["kind"] == kind}


def test_mttr_leaves_out_pauses_and_counts_completions_in_each_locales_april(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "mttr")
    # K1 35.5 h (37.5 - 2 h on hold), K2 26 h (50 - 24 h waiting for parts; reopened time
    # counts), K3 168 h (started in March), K5 38.5 h (May 1 03:30Z is Apr 30 in Santiago);
    # K4 is May 1 in Punta Arenas, K7 is a plan's, K9 is September's.
    # (35.5 + 26 + 168 + 38.5) / 4 = 268 / 4 = 67.0
    assert body["value"] == 67.0
    assert body["values"] == {"completed": 4}
    assert body["unit"] == "hours" and body["from"] == "2026-04-01"


def test_mttr_by_day_follows_the_april_dst_change(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "mttr", group="day", **{"from": "2026-04-01", "to": "2026-04-06"})
    # K1's completion, Apr 5 03:30Z, is 30 min after Santiago went to UTC-4: Apr 4 23:30 local
    # (at UTC-3 it would have been Apr 5 00:30). K3 completed Apr 2 12:00Z (Apr 2 09:00 local).
    assert _point(body, "2026-04-04")["values"]["completed"] == 1
    assert _point(body, "2026-04-04")["value"] == 35.5
    assert _point(body, "2026-04-05")["values"]["completed"] == 0
    assert _point(body, "2026-04-05")["value"] is None
    assert _point(body, "2026-04-02")["value"] == 168.0
    assert len(body["points"]) == 6


def test_mttr_by_day_follows_the_september_dst_change(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "mttr", group="day", **{"from": "2026-09-05", "to": "2026-09-08"})
    # K9 completed Sep 7 03:30Z: Santiago is UTC-3 again since Sep 6 04:00Z, so Sep 7 00:30
    # local (at UTC-4 it would be Sep 6 23:30); repair 02:00 → 03:30 = 1.5 h.
    assert _point(body, "2026-09-07")["value"] == 1.5
    assert _point(body, "2026-09-06")["values"]["completed"] == 0


def test_mttr_by_week_starts_weeks_on_monday(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "mttr", group="week")
    # Weeks of April 2026: Mon Mar 30 (Apr 1-5), Apr 6, Apr 13, Apr 20, Apr 27 (Apr 27-30).
    assert [(p["start"], p["end"]) for p in body["points"]] == [
        ("2026-03-30", "2026-04-05"),
        ("2026-04-06", "2026-04-12"),
        ("2026-04-13", "2026-04-19"),
        ("2026-04-20", "2026-04-26"),
        ("2026-04-27", "2026-04-30"),
    ]
    # Week 1: K3 168 h (Apr 2) and K1 35.5 h (Apr 4): 203.5 / 2 = 101.75.
    assert body["points"][0]["value"] == 101.75
    assert body["points"][1]["value"] == 26.0  # K2
    assert body["points"][4]["value"] == 38.5  # K5


def test_response_time_counts_first_acceptances_in_the_period(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "response_time")
    # K1 1 h, K2 0.5 h, K4 0.5 h, K5 0.25 h (K3 accepted in March, K6 cancelled, K7 never
    # accepted): 2.25 / 4 = 0.5625 → 0.56.
    assert body["value"] == 0.56
    assert body["values"] == {"accepted": 4}


def test_planned_ratio_counts_tickets_created_in_the_period(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "planned_ratio")
    # Created in April, not cancelled: K1, K2, K4, K5 corrective, K7 planned: 1 / 5 = 20 %.
    assert body["value"] == 20.0
    assert body["values"] == {"planned": 1, "unplanned": 4}


def test_tickets_counts_created_completed_and_cancelled(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "tickets")
    # Created: K1 K2 K4 K5 K7 (K6 cancelled); completed: K1 K2 K3 K5 K7; cancelled: K6.
    assert body["values"] == {"created": 5, "completed": 5, "cancelled": 1}


def test_sla_compliance_counts_targets_due_in_the_period(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "sla")
    # Response due in April: K1 met, K2 met (K6 cancelled; K4's is May 1 in Punta Arenas).
    # Resolution due in April: K1 breached, K2 met. (2 + 1) / 4 = 75 %.
    assert body["value"] == 75.0
    assert body["values"] == {
        "response_met": 2,
        "response_breached": 0,
        "resolution_met": 1,
        "resolution_breached": 1,
        "response_pct": 100.0,
        "resolution_pct": 50.0,
    }


def test_backlog_counts_tickets_open_at_each_buckets_end_in_their_zone(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "backlog", group="week")
    # Ends: Providencia Apr 6/13/20/27 and May 1 at 04:00Z; Punta Arenas at 03:00Z.
    # K8 (open since Dec 1 2025) is in each, over 90 days old. K1, K3 closed before Apr 6;
    # K2, K6 (cancelled Apr 11) before Apr 13; K4 opened Apr 20 12:00, after Apr 20's end.
    opened = [p["value"] for p in body["points"]]
    assert opened == [1, 1, 1, 2, 2]
    # Apr 27 03:00Z: K4 is 6 days 15 h old (0-7).
    assert _point(body, "2026-04-20")["values"] == {
        "open": 2,
        "age_0_7": 1,
        "age_8_30": 0,
        "age_31_90": 0,
        "age_over_90": 1,
    }
    # May 1 03:00Z (Punta Arenas): K4 closes at 03:30Z, so still open, 10 days 15 h old (8-30);
    # K5 closed at 03:30Z before Providencia's end (04:00Z).
    assert _point(body, "2026-04-27")["values"] == {
        "open": 2,
        "age_0_7": 0,
        "age_8_30": 1,
        "age_31_90": 0,
        "age_over_90": 1,
    }
    assert body["value"] == 2


def test_first_time_fix_leaves_out_reopened_and_followed_up_tickets(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    body = _get(client, owner, "first_time_fix")
    # Corrective completed in April: K1 yes, K2 reopened, K3 has a follow-up (K4), K5 yes: 2/4.
    assert body["value"] == 50.0
    assert body["values"] == {"completed": 4, "first_time": 2}


def test_availability_and_downtime_per_asset(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    body = _get(client, owner, "availability")
    rows = _rows(body, "asset")
    # Chiller (Providencia): April is Apr 1 03:00Z → May 1 04:00Z = 721 h (one more hour on
    # Apr 4); down 39.5 + 28 = 67.5 h; (721 - 67.5) / 721 = 90.638 % → 90.64.
    chiller = rows[str(w.chiller)]
    assert chiller["value"] == 90.64
    assert chiller["values"] == {"downtime_hours": 67.5, "observed_hours": 721.0}
    # Pump (Punta Arenas): Apr 1 03:00Z → May 1 03:00Z = 720 h; down Apr 20 12:00Z → the
    # period's end = 10 d 15 h = 255 h; 465 / 720 = 64.583 % → 64.58.
    pump = rows[str(w.pump)]
    assert pump["value"] == 64.58
    assert pump["values"] == {"downtime_hours": 255.0, "observed_hours": 720.0}
    assert str(w.boiler) not in rows  # no status before September
    # Together: (1441 - 322.5) / 1441 = 77.62 %.
    assert body["value"] == 77.62
    assert body["values"]["downtime_hours"] == 322.5


def test_availability_of_the_23_hour_day_of_september(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    day = {"from": "2026-09-06", "to": "2026-09-06"}
    body = _get(client, owner, "availability", **day)
    # Sep 6 in Santiago: 04:00Z → Sep 7 03:00Z, 23 h, all of it down.
    assert _rows(body, "asset")[str(w.boiler)]["values"] == {
        "downtime_hours": 23.0,
        "observed_hours": 23.0,
    }
    both = _get(client, owner, "availability", **{"from": "2026-09-06", "to": "2026-09-07"})
    # Sep 6-7: 23 + 24 = 47 h observed, 23 down: 24 / 47 = 51.06 %.
    assert _rows(both, "asset")[str(w.boiler)]["value"] == 51.06


def test_mtbf_per_asset_and_category(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    body = _get(client, owner, "mtbf")
    # Chiller: operating 721 - 67.5 = 653.5 h; failures created in April: K1, K2 (K6
    # cancelled, K7 planned): 326.75 h. Pump: 465 h, one failure (K4; K3 is March's).
    assets = _rows(body, "asset")
    assert assets[str(w.chiller)]["value"] == 326.75
    assert assets[str(w.chiller)]["values"] == {"operating_hours": 653.5, "failures": 2}
    assert assets[str(w.pump)]["value"] == 465.0
    categories = _rows(body, "category")
    assert categories["hvac"]["value"] == 326.75
    assert categories["plumbing"]["value"] == 465.0
    # (653.5 + 465) / 3 = 372.83.
    assert body["value"] == 372.83


def test_failures_lists_the_most_failing_assets(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    body = _get(client, owner, "failures")
    assert body["value"] == 3  # K1, K2 (chiller), K4 (pump)
    assert [(r["key"], r["value"]) for r in body["rows"]] == [(str(w.chiller), 2), (str(w.pump), 1)]


def test_pm_compliance_and_neglected_plans(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    body = _get(client, owner, "pm_compliance")
    # Due in April: Apr 2 (the plan paused since: it was due all the same), Apr 15 (K7
    # completed Apr 14, on time) and Apr 22 (no ticket): 1 / 3 = 33.33 %.
    assert body["value"] == 33.33
    assert body["values"] == {"due": 3, "on_time": 1}
    neglected = _get(client, owner, "neglected_plans")
    # The active plan's Apr 22 occurrence is overdue; the paused plan does not count.
    assert neglected["value"] == 1
    assert [r["key"] for r in neglected["rows"]] == [str(w.plan)]
    assert neglected["rows"][0]["value"] == 1


def test_costs_per_locale_category_and_asset(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    body = _get(client, owner, "costs")
    # Labour: K1 240 min x 12.000/h = 48.000; K6 36 min = 7.200 (cancelled, still spent);
    # K2 20 min travel = 4.000; K3's log is Mar 31 local: 48.000 + 7.200 + 4.000 = 59.200.
    # Parts: K2's ledger 30.000 - 7.500 = 22.500 (its typed 99.999 ignored); typed: K1 1.000,
    # K3 2.000 (Punta Arenas), K5 7.000 (Apr 30 local); K4 is May's: 32.500.
    assert body["values"] == {
        "labour_minor": 59_200,
        "parts_minor": 32_500,
        "vendor_minor": 0,
        "total_minor": 91_700,
        "currency": "CLP",
    }
    locales = _rows(body, "locale")
    assert locales[str(w.providencia)]["value"] == 89_700  # 59.200 + 22.500 + 1.000 + 7.000
    assert locales[str(w.punta_arenas)]["value"] == 2_000
    # Chiller: 59.200 + 22.500 + 1.000 = 82.700; pump 2.000 (K5 has no asset).
    assert _rows(body, "asset")[str(w.chiller)]["value"] == 82_700
    assert _rows(body, "category") == {
        "hvac": _rows(body, "category")["hvac"],
        "plumbing": _rows(body, "category")["plumbing"],
    }
    assert _rows(body, "category")["hvac"]["value"] == 82_700
    assert sum(p["value"] for p in body["points"]) == 91_700


def test_utilisation_of_logged_work_over_working_shifts(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    body = _get(client, owner, "utilisation")
    # Work: K1 240 + K6 36 = 276 min (K3's is Mar 31 local; K2's is travel); shifts 2 x 480:
    # 276 / 960 = 28.75 %.
    assert body["value"] == 28.75
    assert _rows(body, "technician")[str(w.technician)]["values"] == {
        "worked_minutes": 276,
        "scheduled_minutes": 960,
    }


def test_iot_alarms_and_readings(client: TestClient, month: tuple[World, Account, Account]) -> None:
    w, owner, _ = month
    alarms = _get(client, owner, "iot_alarms")
    # Apr 3, Apr 29 23:30 and Apr 30 23:30 local (Mar 31 00:30 local is March's): 3.
    assert alarms["value"] == 3
    assert alarms["rows"][0]["values"]["alarms"] == 3
    readings = _get(client, owner, "iot_readings")
    # Apr 1 00:30, Apr 1 01:00, Apr 2 09:00 local: 3 readings on 2 of 30 days; the pump's
    # device sent none.
    assert readings["value"] == 3
    devices = _rows(readings, "device")
    assert devices[str(w.device)]["values"] == {"readings": 3, "days_with_readings": 2, "days": 30}
    assert devices[str(w.device)]["value"] == 0.1
    assert devices[str(w.quiet_device)]["values"]["readings"] == 0


def test_filters_narrow_every_metric(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    # Punta Arenas only: K3 168 h.
    assert _get(client, owner, "mttr", locale_id=str(w.punta_arenas))["value"] == 168.0
    # The chiller: K1 and K2: (35.5 + 26) / 2 = 30.75.
    assert _get(client, owner, "mttr", asset_id=str(w.chiller))["value"] == 30.75
    assert _get(client, owner, "mttr", category="plumbing")["value"] == 168.0
    assert _get(client, owner, "mttr", priority="high")["value"] == 35.5
    assert _get(client, owner, "planned_ratio", source="plan")["value"] == 100.0


def test_a_technician_sees_only_their_tickets(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, _, technician = month
    # K1 and K2 are the technician's: (35.5 + 26) / 2 = 30.75.
    assert _get(client, technician, "mttr")["value"] == 30.75


def test_a_locale_member_sees_only_their_locale(
    client: TestClient, run: Runner, month: tuple[World, Account, Account]
) -> None:
    w, owner, _ = month
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    add_member(run, w.client_id, w.punta_arenas, member.id, LocalRole.manager)
    # Punta Arenas' only April completion: K3, 168 h; its one failure: K4 on the pump.
    assert _get(client, member, "mttr")["value"] == 168.0
    assert [r["key"] for r in _get(client, member, "failures")["rows"]] == [str(w.pump)]


def test_the_overview_sets_each_card_beside_the_previous_period(
    client: TestClient, month: tuple[World, Account, Account]
) -> None:
    _, owner, _ = month
    response = client.get(f"{P}/overview", params=APRIL, headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["previous_from"], body["previous_to"]) == ("2026-03-02", "2026-03-31")
    cards = {c["key"]: (c["value"], c["previous"]) for c in body["cards"]}
    assert cards["mttr"] == (67.0, None)  # nothing corrective completed in March
    assert cards["response_time"] == (0.56, 1.0)  # March: K3, 1 h
    assert cards["tickets_created"] == (5, 1)  # March: K3
    # End of March (Punta Arenas Apr 1 03:00Z): K3 and K8 open; end of April: K4 and K8.
    assert cards["backlog"] == (2, 2)
    assert cards["sla"] == (75.0, None)
    assert cards["first_time_fix"] == (50.0, None)
    assert cards["pm_compliance"] == (33.33, None)
    assert cards["costs"] == (91_700, 12_000)  # March: K3's hour of Mar 31 (local)
    assert cards["utilisation"] == (28.75, None)  # March: K3's hour, but no shift
    assert cards["iot_alarms"] == (3, 1)
    assert cards["availability"][0] == 77.62
    assert cards["downtime"] == (322.5, 0.0)


def test_the_monthly_summary_uses_the_same_definitions(
    client: TestClient, run: Runner, month: tuple[World, Account, Account]
) -> None:
    from datetime import date

    from kerops.analytics import monthly_summary

    w, _, _ = month

    async def summary(session: Any) -> Any:
        return await monthly_summary(session, w.client_id, w.providencia, date(2026, 4, 1))

    found = run(summary)
    cards = {c.key: c.value for c in found.cards}
    # Providencia only: K1 35.5, K2 26, K5 38.5: 100 / 3 = 33.33.
    assert cards["mttr"] == 33.33
    assert found.mttr.value == 33.33
    assert found.mttr.points[0].start.isoformat() == "2026-03-30"
    assert found.failures.rows[0].key == str(w.chiller)
    assert found.costs.value == 89_700
    assert found.pm_compliance.value == 33.33
