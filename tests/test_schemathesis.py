"""Property-based run of the whole OpenAPI schema (schemathesis) against a live server.

Every operation is called with generated valid and invalid data, authenticated as a client owner
whose client has a locale, an area and members, and as platform staff. No response may be a 5xx,
and every response must match the schema (status code, content type, body).

Generated path parameters name objects that do not exist, so those calls mostly end at a 404.
Two more runs aim every operation on an object at real objects of a client (the path parameters
of the all-routes isolation test's client A: its ticket, asset, plan, device, workflow, ...),
called by that client's owner and by its technician, with generated query strings and bodies:
the code behind the 404 is fuzzed too.

The suite runs the same few examples per operation every time (5 as the owner, 3 as staff and
on real objects). ``KEROPS_TEST_SCHEMATHESIS_EXAMPLES=150`` explores further: that many examples
per operation as the owner (a third as staff and on real objects), new ones on every run.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.requests import ManagedCookiesSession

from kerops.core.enums import ClientRole, LocalRole, UserRole
from kerops.main import create_app
from tests.conftest import app_for, fresh_database, make_settings
from tests.fixtures.live_server import serve
from tests.isolation import build_world
from tests.test_isolation import CASES as ISOLATION_CASES

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live(
    template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A served app over a fresh database with a populated client, and tokens to call it with."""
    from fastapi.testclient import TestClient

    from tests.fixtures.factories import (
        add_member,
        make_area,
        make_locale,
        make_user,
        register_owner,
    )

    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    with fresh_database(template_database, data_dir) as url:
        settings_ = make_settings(
            data_dir,
            url,
            login_rate_limit="100000/minute",
            login_ip_rate_limit="100000/minute",
            otp_rate_limit="100000/minute",
            otp_ip_rate_limit="100000/minute",
            public_rate_limit="100000/minute",
        )
        # Seed through an in-process client first, then serve the same database over HTTP.
        seed_app = create_app(settings_)
        with TestClient(seed_app) as client:
            from tests.conftest import run_in_app

            run = run_in_app(client)
            owner = register_owner(client)
            assert owner.client_id is not None
            locale = make_locale(run, owner.client_id)
            make_area(run, owner.client_id, locale)
            manager = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
            add_member(run, owner.client_id, locale, manager.id, LocalRole.manager)
            staff = make_user(client, run, role=UserRole.super_admin)
            # Client A of the all-routes isolation test, with an object of its own for every
            # route: the path parameters that name real objects (see ``test_api_on_real_objects``).
            world = build_world(client, run)
            real_params = {key: case.params(world) for key, case in ISOLATION_CASES.items()}
            a_admin = make_user(
                client,
                run,
                role=UserRole.client_member,
                client_id=world.a_owner.client_id,
                client_role=ClientRole.admin,
            )
        app = create_app(settings_)
        # One keep-alive session for every call (schemathesis drops its cookies after each).
        with serve(app) as base_url, ManagedCookiesSession() as session:
            session.trust_env = False  # a loopback server: no proxies from the environment
            yield {
                "base_url": base_url,
                "owner": owner,
                "staff": staff,
                "world": {
                    "owner": world.a_owner,
                    "technician": world.a_technician,
                    "admin": a_admin,
                },
                "real_params": real_params,
                "app": app,
                "session": session,
            }


def _openapi() -> dict[str, Any]:
    """The app's own OpenAPI document (static: it does not depend on the database)."""
    with tempfile.TemporaryDirectory() as folder, app_for(make_settings(Path(folder), None)) as app:
        # a copy: the app (reused by other tests of this worker) keeps its own document
        document: dict[str, Any] = copy.deepcopy(app.openapi())
        return document


schema = schemathesis.openapi.from_dict(_openapi())

#: Examples per operation as the owner; set: explore (new examples on every run).
_EXPLORE = os.environ.get("KEROPS_TEST_SCHEMATHESIS_EXAMPLES")
OWNER_EXAMPLES = int(_EXPLORE) if _EXPLORE else 5
STAFF_EXAMPLES = max(1, OWNER_EXAMPLES // 3) if _EXPLORE else 3


def _examples(count: int) -> settings:
    """Hypothesis' settings for ``count`` examples per operation (fixed ones unless exploring)."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not _EXPLORE,
    )


def _call(case: Any, live: dict[str, Any], caller: Any) -> None:
    response = case.call(base_url=live["base_url"], session=live["session"], headers=caller.headers)
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@_examples(OWNER_EXAMPLES)
def test_api_as_client_owner(case: Any, live: dict[str, Any]) -> None:
    _call(case, live, live["owner"])


@schema.parametrize()
@_examples(STAFF_EXAMPLES)
def test_api_as_platform_staff(case: Any, live: dict[str, Any]) -> None:
    _call(case, live, live["staff"])


#: The operations on one object (a path parameter), but not sign-in, sign-out and single sign-on
#: (no object; a sign-out would end the caller's session for every later call) nor deletes (the
#: object would be gone for the operations after it; the isolation test calls every delete).
on_objects = schema.include(path_regex=r"\{").exclude(path_regex=r"^/api/v1/auth/")
on_objects = on_objects.exclude(method="DELETE")


def _on_real_objects(case: Any, live: dict[str, Any], caller: str) -> None:
    real = live["real_params"].get((case.method.upper(), case.path), {})
    if case.path_parameters:
        case.path_parameters = {
            name: str(real[name]) if name in real else value
            for name, value in case.path_parameters.items()
        }
    _call(case, live, live["world"][caller])


@on_objects.parametrize()
@_examples(STAFF_EXAMPLES)
def test_api_on_real_objects(case: Any, live: dict[str, Any]) -> None:
    _on_real_objects(case, live, "owner")


@on_objects.parametrize()
@_examples(STAFF_EXAMPLES)
def test_api_on_real_objects_as_their_technician(case: Any, live: dict[str, Any]) -> None:
    # The client's technician: the access rules of the assigned (tickets, their assets and
    # areas, the technician's own shifts and licences) rather than the owner's.
    _on_real_objects(case, live, "technician")


@on_objects.parametrize()
@_examples(STAFF_EXAMPLES)
def test_api_on_real_objects_as_client_admin(case: Any, live: dict[str, Any]) -> None:
    # A client-wide admin: the owner's rights through the client-wide role, not the owner role.
    _on_real_objects(case, live, "admin")


# --- extreme dates --------------------------------------------------------------------------------

#: Instants at and beyond the ends of what the API accepts (1900-2200): each is a 422, never a 5xx.
EXTREME_INSTANTS = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-05:00",
    "1900-01-01T00:00:00Z",
    "2200-12-31T23:59:59.999999Z",
)
_DATE_FORMATS = ("date", "date-time")


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = components[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _date_format(node: Any, components: dict[str, Any]) -> str | None:
    """``date`` or ``date-time`` when ``node`` (or one of its alternatives) is one, else None."""
    node = _resolve(node, components)
    if not isinstance(node, dict):
        return None
    if node.get("format") in _DATE_FORMATS:
        return str(node["format"])
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        if (found := _date_format(branch, components)) is not None:
            return found
    return None


def _has_dates(node: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return name not in seen and _has_dates(components[name], components, seen | {name})
    if isinstance(node, dict):
        if node.get("format") in _DATE_FORMATS:
            return True
        return any(_has_dates(value, components, seen) for value in node.values())
    if isinstance(node, list):
        return any(_has_dates(value, components, seen) for value in node)
    return False


def _with_dates(value: Any, node: Any, instant: str, components: dict[str, Any]) -> Any:
    """``value`` (of schema ``node``) with every date and instant in it set to ``instant`` (its
    day for a date); absent date fields of an object are added."""
    fmt = _date_format(node, components)
    if fmt is not None:
        return instant if fmt == "date-time" else instant[:10]
    node = _resolve(node, components)
    if not isinstance(node, dict):
        return value
    if isinstance(value, dict):
        for name, inner in node.get("properties", {}).items():
            if _date_format(inner, components) is not None or name in value:
                value[name] = _with_dates(value.get(name), inner, instant, components)
        return value
    if isinstance(value, list) and "items" in node:
        items = value or ([None] if _date_format(node["items"], components) else [])
        return [_with_dates(item, node["items"], instant, components) for item in items]
    return value


def _date_inputs(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per operation taking a date or an instant: its date query parameters and body schema."""
    components = document.get("components", {}).get("schemas", {})
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            query = [
                (p["name"], fmt)
                for p in operation.get("parameters", [])
                if p["in"] == "query" and (fmt := _date_format(p["schema"], components))
            ]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            body_schema = (
                body["schema"] if body and _has_dates(body["schema"], components) else None
            )
            if query or body_schema is not None:
                found[(method.upper(), path)] = {"query": query, "body": body_schema}
    return found


_DOCUMENT = _openapi()
DATE_INPUTS = _date_inputs(_DOCUMENT)
# Generated cases only (no coverage phase): what matters here is the dates put into them.
with_dates = schemathesis.openapi.from_dict(
    _DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": False}, "examples": {"enabled": False}}}
    ),
).include(lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in DATE_INPUTS)


@with_dates.parametrize()
@_examples(2)
def test_extreme_dates_are_refused_without_a_server_error(case: Any, live: dict[str, Any]) -> None:
    # Every operation taking a date or an instant (query or body), on real objects as the owner,
    # with each date at and beyond the ends of the accepted range; the rest as generated.
    components = _DOCUMENT.get("components", {}).get("schemas", {})
    inputs = DATE_INPUTS[(case.method.upper(), case.path)]
    real = live["real_params"].get((case.method.upper(), case.path), {})
    if case.path_parameters:
        case.path_parameters = {
            name: str(real[name]) if name in real else value
            for name, value in case.path_parameters.items()
        }
    for instant in EXTREME_INSTANTS:
        if inputs["query"]:
            case.query = dict(case.query or {})
            for name, fmt in inputs["query"]:
                case.query[name] = instant if fmt == "date-time" else instant[:10]
        if inputs["body"] is not None and isinstance(case.body, dict | list):
            case.body = _with_dates(copy.deepcopy(case.body), inputs["body"], instant, components)
        _call(case, live, live["world"]["owner"])
