"""Text limits of request bodies: what the OpenAPI document says is what the API takes, on both
databases, and no input field allows more than its column holds."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re._parser as regex_parser
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import String

import kerops
from kerops.core.models import Base
from kerops.core.schemas import InputModel
from tests.fixtures.factories import Runner, make_area
from tests.fixtures.tenancy import make_team

API = "/api/v1"

#: The table each request body writes to (by its field names); a new input model is added here.
WRITES: dict[str, str | None] = {
    "AdjustmentCreate": "inventory_movements",
    "AppVersionCreate": "app_versions",
    "AppVersionUpdate": "app_versions",
    "ApiKeyCreate": "api_keys",
    "AreaCreate": "local_areas",
    "AreaUpdate": "local_areas",
    "AssetCreate": "assets",
    "Choice": None,
    "DefinitionInput": "custom_field_definitions",
    "DefinitionCreate": "custom_field_definitions",
    "DefinitionUpdate": "custom_field_definitions",
    "AssetUpdate": "assets",
    "AssignmentCreate": None,
    "BomLineCreate": "asset_bom",
    "BomLineUpdate": "asset_bom",
    "CertificationCreate": "technician_certifications",
    "CertificationUpdate": "technician_certifications",
    "ChecklistItem": None,
    "ClientUpdate": "clients",
    "CountCreate": "stock_counts",
    "CountedLine": "stock_count_lines",
    "CountLinesUpdate": None,
    "CommentCreate": "ticket_comments",
    "DeviceCreate": "iot_devices",
    "DeviceUpdate": "iot_devices",
    "IdentityProviderCreate": "identity_providers",
    "IdentityProviderUpdate": "identity_providers",
    "InvitationAccept": "users",
    "RateCreate": "labour_rates",
    "RateUpdate": "labour_rates",
    "TimerStart": "ticket_work_logs",
    "TimerStop": "ticket_work_logs",
    "WorkLogCreate": "ticket_work_logs",
    "WorkLogUpdate": "ticket_work_logs",
    "LocaleCreate": "locales",
    "LocaleUpdate": "locales",
    "LoginRequest": None,
    "ReportCreate": "reports",
    "StockSettings": "inventory_stock",
    "StockUpdate": "inventory_stock",
    "TransferCreate": "inventory_transfers",
    "TransferLine": None,
    "WarehouseCreate": "warehouses",
    "WarehouseUpdate": "warehouses",
    "LogoutRequest": None,
    "MemberCreate": "local_members",
    "MemberUpdate": "local_members",
    "OtpRequest": None,
    "OwnershipTransfer": None,
    "OtpVerify": None,
    "PartIssue": "inventory_movements",
    "PartReturn": "inventory_movements",
    "PlanCreate": "asset_maintenance_plans",
    "PlanLimitUpdate": "plan_limits",
    "PlanUpdate": "asset_maintenance_plans",
    "ProductCreate": "products",
    "LineIn": "purchase_order_lines",
    "PurchaseOrderCreate": "purchase_orders",
    "PurchaseOrderUpdate": "purchase_orders",
    "ReasonIn": "purchase_order_events",
    "ReceiptLineIn": None,
    "ReceiptIn": None,
    "ApprovalRuleCreate": "purchase_approval_rules",
    "ScheduleCreate": "report_schedules",
    "ScheduleUpdate": "report_schedules",
    "ApprovalRuleUpdate": "purchase_approval_rules",
    "PurchasingSettingsIn": "purchasing_settings",
    "ProductUpdate": "products",
    "RefreshRequest": None,
    "RegisterRequest": "users",
    "ReservationCreate": "stock_reservations",
    "ReservationLine": "stock_reservations",
    "RuleCreate": "iot_rules",
    "RuleUpdate": "iot_rules",
    "ScanReportCreate": "service_tickets",
    "SettingPut": "settings",
    "ShiftCreate": "technician_shifts",
    "ShiftUpdate": "technician_shifts",
    "SlaPolicyCreate": "sla_policies",
    "SlaPolicyUpdate": "sla_policies",
    "SlaTarget": None,
    "StepCreate": "workflow_steps",
    "StepUpdate": "workflow_steps",
    "TaskComplete": "ticket_tasks",
    "TaskCreate": "ticket_tasks",
    "TaskUpdate": "ticket_tasks",
    "TicketCreate": "service_tickets",
    "TicketUpdate": "service_tickets",
    "TransitionCreate": "ticket_history",
    "UserInvite": "users",
    "UserUpdate": "users",
    "VendorCreate": "vendors",
    "VendorUpdate": "vendors",
    "WebhookCreate": "webhook_subscriptions",
    "WebhookUpdate": "webhook_subscriptions",
    "WorkflowCreate": "workflows",
    "WorkflowUpdate": "workflows",
}
#: Fields stored shorter than they are sent, and why.
NORMALISED = {
    ("VendorCreate", "rut"): "normalise_rut stores 76.086.428-5 as 76086428-5 (at most 10)",
    ("VendorUpdate", "rut"): "normalise_rut stores 76.086.428-5 as 76086428-5 (at most 10)",
}
#: An address pydantic's email type takes is at most 254 characters (RFC 5321, email-validator).
EMAIL_MAX_LENGTH = 254


#: Formats parsed into other types (ids, dates, instants), not stored as text.
_NOT_TEXT = ("uuid", "date", "date-time")


def _input_models() -> Iterator[type[InputModel]]:
    for module in pkgutil.walk_packages(kerops.__path__, "kerops."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    pending: list[type[InputModel]] = [InputModel]
    while pending:
        for model in pending.pop().__subclasses__():
            pending.append(model)
            yield model


def _longest(schema: dict[str, Any]) -> int | None:
    """The most characters a text schema takes (its maxLength, pattern, enum or format)."""
    lengths = []
    if "maxLength" in schema:
        lengths.append(schema["maxLength"])
    if "pattern" in schema:
        widest = regex_parser.parse(schema["pattern"]).getwidth()[1]
        if widest < regex_parser.MAXREPEAT:
            lengths.append(widest)
    if "enum" in schema:
        lengths.append(max(len(str(value)) for value in schema["enum"]))
    if "const" in schema:
        lengths.append(len(str(schema["const"])))
    if schema.get("format") == "email":
        lengths.append(EMAIL_MAX_LENGTH)
    return min(lengths) if lengths else None


def _texts(model: type[BaseModel]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field, schema) of each text a body model takes, alone or in a list."""
    document = model.model_json_schema()
    definitions = document.get("$defs", {})
    for name, schema in document.get("properties", {}).items():
        for branch in [schema, *schema.get("anyOf", [])]:
            if "$ref" in branch:
                branch = definitions[branch["$ref"].rsplit("/", 1)[-1]]
            if branch.get("type") == "array":
                branch = branch.get("items", {})
            if branch.get("type") == "string" and branch.get("format") not in _NOT_TEXT:
                yield name, branch


def test_every_text_a_body_takes_is_bounded_and_fits_its_column() -> None:
    tables = Base.metadata.tables
    unbounded, too_long, unknown = [], [], []
    for model in _input_models():
        if model.__name__ not in WRITES:
            unknown.append(model.__name__)
            continue
        table = WRITES[model.__name__]
        columns = tables[table].columns if table else {}
        for name, schema in _texts(model):
            longest = _longest(schema)
            if longest is None:
                unbounded.append(f"{model.__name__}.{name}")
                continue
            column = columns.get(name)
            column_type = getattr(column, "type", None)
            column_type = getattr(column_type, "impl", column_type)
            if (
                isinstance(column_type, String)
                and column_type.length is not None
                and longest > column_type.length
                and (model.__name__, name) not in NORMALISED
            ):
                too_long.append(f"{model.__name__}.{name}: {longest} > {column_type.length}")
    assert not unknown, f"add to WRITES the table each of these writes: {unknown}"
    assert not unbounded, f"text without a maximum length: {unbounded}"
    assert not too_long, f"text longer than its column: {too_long}"


class _Shape(enum.Enum):
    create = "create"
    update = "update"


@pytest.mark.parametrize("shape", list(_Shape))
@pytest.mark.parametrize(
    "description", ["x" * 10_001, "x" * 10_000 + " ", " " * 10_001, "\n" + "x" * 10_000]
)
def test_an_area_description_longer_than_its_max_length_as_sent_is_a_422(
    client: TestClient, run: Runner, shape: _Shape, description: str
) -> None:
    team = make_team(client, run)
    areas = f"{API}/locales/{team.locale1}/areas"
    if shape is _Shape.create:
        body = {"name": "Sala de máquinas", "description": description}
        response = client.post(areas, json=body, headers=team.owner.headers)
    else:
        area = make_area(run, team.client_id, team.locale1)
        response = client.patch(
            f"{areas}/{area}", json={"description": description}, headers=team.owner.headers
        )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "loc": ["body", "description"],
            "msg": "String should have at most 10000 characters",
            "type": "string_too_long",
        }
    ]


def test_an_area_description_of_exactly_its_max_length_is_kept(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    body = {"name": "Sala de máquinas", "description": "x" * 9_999 + "ñ"}
    response = client.post(
        f"{API}/locales/{team.locale1}/areas", json=body, headers=team.owner.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] == body["description"]
