"""Labels of enum values: every value a person sees has one, in both languages, and the route
answers them in the request's language."""

from __future__ import annotations

import typing

import pytest
from fastapi.testclient import TestClient

from kerops.assets.plans_schemas import PlanTrigger
from kerops.assets.recurrence import IntervalUnit
from kerops.core import labels
from kerops.core.enums import (
    AssetStatus,
    ClientRole,
    LocalRole,
    ProductCategory,
    ShiftType,
    SubscriptionPlan,
    TechnicianSkill,
    TicketPriority,
    TicketStatus,
    UserRole,
)
from kerops.core.i18n import translations
from kerops.core.sla_clock import ClockKind
from kerops.iot.rules_schemas import RuleKind, RuleState
from kerops.iot.schemas import DeviceStatus
from kerops.notifications.models import DeliveryStatus
from kerops.notifications.payloads import EVENT_TYPES
from kerops.operations.attachments_schemas import AttachmentKind
from kerops.operations.sla import Target
from kerops.operations.tasks_schemas import TaskKind
from kerops.tenancy.schemas import AreaKind
from tests.fixtures.factories import register_owner

ENUMS: dict[str, list[str]] = {
    "ticket_status": [v.value for v in TicketStatus],
    "ticket_priority": [v.value for v in TicketPriority],
    "ticket_source": ["manual", "scan", "plan", "sensor"],
    "sla_target": list(typing.get_args(Target)),
    "sla_clock": [v.value for v in ClockKind],
    "asset_status": [v.value for v in AssetStatus],
    "technician_skill": [v.value for v in TechnicianSkill],
    "task_kind": [v.value for v in TaskKind],
    "attachment_kind": [v.value for v in AttachmentKind],
    "notification_type": list(EVENT_TYPES),
    "user_role": [v.value for v in UserRole],
    "client_role": [v.value for v in ClientRole],
    "local_role": [v.value for v in LocalRole],
    "subscription_plan": [v.value for v in SubscriptionPlan],
    "shift_type": [v.value for v in ShiftType],
    "area_kind": [v.value for v in AreaKind],
    "product_category": [v.value for v in ProductCategory],
    "plan_trigger": [v.value for v in PlanTrigger],
    "interval_unit": [v.value for v in IntervalUnit],
    "device_status": [v.value for v in DeviceStatus],
    "rule_kind": [v.value for v in RuleKind],
    "rule_state": [v.value for v in RuleState],
    "webhook_delivery_status": [v.value for v in DeliveryStatus],
}


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_each_table_labels_exactly_the_values_of_its_enum(name: str) -> None:
    assert sorted(labels.LABELS[name]) == sorted(ENUMS[name])


def test_every_table_is_checked_against_its_enum() -> None:
    assert sorted(labels.LABELS) == sorted(ENUMS)


def test_every_label_is_translated_into_spanish() -> None:
    spanish = translations("es-CL")
    untranslated = [
        text
        for table in labels.LABELS.values()
        for text in table.values()
        if spanish.gettext(text) == text and text not in {"Normal", "Pro", "Sensor", "Video"}
    ]
    assert untranslated == []


def test_a_label_is_read_in_the_asked_language() -> None:
    assert labels.label("ticket_status", "en_route", "es-CL") == "En camino"
    assert labels.label("ticket_status", "en_route", "en") == "En route"
    assert labels.label("sla_target", "resolution", "es-CL") == "Resolución"
    assert labels.label("ticket_priority", TicketPriority.critical, "es-CL") == "Crítica"


def test_a_value_without_a_label_is_shown_as_it_is() -> None:
    assert labels.label("ticket_status", "teleported", "es-CL") == "teleported"
    assert labels.label("no_such_enum", "x", "en") == "x"


def test_the_labels_route_answers_in_the_requests_language(client: TestClient) -> None:
    owner = register_owner(client)
    speaking = client
    spanish = speaking.get("/api/v1/labels", headers={**owner.headers, "Accept-Language": "es-CL"})
    english = speaking.get("/api/v1/labels", headers={**owner.headers, "Accept-Language": "en"})
    assert spanish.status_code == english.status_code == 200
    assert spanish.json()["ticket_status"]["en_route"] == "En camino"
    assert english.json()["ticket_status"]["en_route"] == "En route"
    assert spanish.json()["sla_target"] == {"response": "Respuesta", "resolution": "Resolución"}
    assert sorted(spanish.json()) == sorted(english.json()) == sorted(labels.LABELS)
    # The values, the keys a program reads, are the same in every language.
    for name, table in english.json().items():
        assert sorted(table) == sorted(spanish.json()[name])


def test_the_labels_route_is_for_signed_in_people(client: TestClient) -> None:
    response = client.get("/api/v1/labels")
    assert response.status_code == 401
