"""The OpenAPI document reads as a reference: named operations, described tags, the errors each
operation can return, and nothing of the design notes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$")
P = "/api/v1"


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_operation_ids_are_unique_camel_case_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert not [i for i in ids if not CAMEL.match(i)]
    named = {(m, p): o["operationId"] for m, p, o in _operations(document)}
    assert named["GET", f"{P}/tickets"] == "listTickets"
    assert named["GET", f"{P}/tickets/{{ticket_id}}"] == "getTicket"
    assert named["POST", f"{P}/tickets"] == "createTicket"
    assert named["POST", f"{P}/tickets/{{ticket_id}}/transitions"] == "transitionTicket"
    assert named["GET", f"{P}/auth/me"] == "getCurrentUser"
    assert named["GET", f"{P}/assets/{{asset_id}}/maintenance-plans"] == "listMaintenancePlans"


def test_every_tag_in_use_is_described(document: dict[str, Any]) -> None:
    described = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    used = {tag for _, _, operation in _operations(document) for tag in operation["tags"]}
    assert used <= set(described), used - set(described)
    assert not [name for name, text in described.items() if len(text) < 20]
    assert set(described) <= used, set(described) - used


def _errors(document: dict[str, Any], method: str, path: str) -> set[int]:
    responses = document["paths"][path][method.lower()]["responses"]
    return {int(code) for code in responses if int(code) >= 400}


@pytest.mark.parametrize(
    ("method", "path", "errors"),
    [
        ("GET", "/", set()),
        ("GET", f"{P}/health", {422}),
        ("GET", f"{P}/ready", {422, 503}),
        ("GET", f"{P}/auth/me", {401, 403, 422}),
        ("GET", f"{P}/plan-limits", {401, 403, 422}),
        ("GET", f"{P}/tickets", {401, 403, 422}),
        ("GET", f"{P}/tickets/{{ticket_id}}", {401, 403, 404, 422}),
        ("POST", f"{P}/tickets", {400, 401, 403, 404, 409, 413, 422}),
        ("PATCH", f"{P}/tickets/{{ticket_id}}", {400, 401, 403, 404, 409, 412, 413, 422}),
        ("DELETE", f"{P}/locales/{{locale_id}}", {400, 401, 403, 404, 409, 412, 422}),
        ("POST", f"{P}/auth/login", {400, 401, 413, 422, 429}),
        ("POST", f"{P}/auth/refresh", {400, 401, 413, 422}),
        ("GET", f"{P}/scan/{{code}}", {404, 422, 429}),
        ("GET", f"{P}/app-versions/check", {422, 429}),
        (
            "POST",
            f"{P}/tickets/{{ticket_id}}/attachments",
            {400, 401, 403, 404, 409, 413, 415, 422},
        ),
        ("GET", f"{P}/tickets/{{ticket_id}}/attachments", {401, 403, 404, 422}),
    ],
)
def test_each_operation_documents_the_errors_it_can_return(
    document: dict[str, Any], method: str, path: str, errors: set[int]
) -> None:
    assert _errors(document, method, path) == errors


def test_errors_are_problem_details_and_none_is_listed_everywhere(
    document: dict[str, Any],
) -> None:
    counts: dict[int, int] = {}
    for _, _, operation in _operations(document):
        for code, response in operation["responses"].items():
            if int(code) >= 400 and code != "503":
                assert "application/problem+json" in response["content"], (code, operation)
                counts[int(code)] = counts.get(int(code), 0) + 1
    total = len(_operations(document))
    assert 500 not in counts and 405 not in counts
    assert all(count < total for count in counts.values()), counts


def test_no_design_note_leaks_into_the_document(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    for pattern in (r"\bseeds?\b", r"\bstep \d", r"\bTODO\b", r"\bFIXME\b"):
        found = re.search(pattern, text, re.I)
        assert not found, text[max(0, found.start() - 80) : found.end() + 80]


def test_summaries_read_as_the_operation_names(document: dict[str, Any]) -> None:
    named = {(m, p): o["summary"] for m, p, o in _operations(document)}
    assert named["GET", f"{P}/tickets"] == "List tickets"
    assert named["GET", f"{P}/auth/me"] == "Get current user"
    assert named["POST", f"{P}/iot-devices"] == "Create IoT device"
    assert named["GET", "/"] == "The landing page"  # a summary of its own is kept
