"""Every route of the app, called by users of another client, answers 403/404 and leaks nothing."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from tests.fixtures.factories import Runner
from tests.isolation import Case, World, build_world

TESTS_DIR = Path(__file__).parent


def _collect() -> tuple[
    dict[tuple[str, str], Case], dict[tuple[str, str], str], dict[tuple[str, str], str]
]:
    cases: dict[tuple[str, str], Case] = {}
    public: dict[tuple[str, str], str] = {}
    pages: dict[tuple[str, str], str] = {}
    for path in sorted(TESTS_DIR.rglob("isolation_cases*.py")):
        module_name = ".".join(path.relative_to(TESTS_DIR.parent).with_suffix("").parts)
        module = importlib.import_module(module_name)
        for key, case in getattr(module, "CASES", {}).items():
            assert key not in cases, f"{key} has two isolation cases"
            cases[key] = case
        public.update(getattr(module, "PUBLIC", {}))
        pages.update(getattr(module, "PAGES", {}))
    return cases, public, pages


#: ``PAGES``: what the app serves outside the OpenAPI document (the docs pages and their files),
#: all public, each with the reason.
CASES, PUBLIC, PAGES = _collect()


def _routes(client: TestClient) -> list[tuple[str, str]]:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    routes = []
    for path, operations in schema["paths"].items():
        for method in operations:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                routes.append((method.upper(), path))
    return sorted(routes)


def _served_api_routes(client: TestClient) -> set[tuple[str, str, bool]]:
    """Every (method, path, in_schema) the router actually serves under /api/."""
    served = set()
    for route in client.app.router.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path.startswith("/api/"):
            for method in route.methods or ():
                if method != "HEAD":
                    served.add((method, route.path, bool(route.include_in_schema)))
    return served


def _fill(path: str, params: dict[str, Any]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in params, f"{path}: the isolation case gives no value for {{{name}}}"
        return str(params[name])

    return re.sub(r"\{([a-zA-Z_]+)\}", sub, path)


def _call(world: World, method: str, path: str, case: Case, headers: dict[str, str]) -> Any:
    url = _fill(path, case.params(world))
    kwargs: dict[str, Any] = {"headers": headers}
    if case.query is not None:
        kwargs["params"] = case.query(world)
    if case.body is not None and method in {"POST", "PUT", "PATCH", "DELETE"}:
        kwargs["json"] = case.body(world)
    if case.files is not None:
        kwargs["files"] = case.files(world)
        kwargs["data"] = case.form or {}
    return world.client.request(method, url, **kwargs)


def test_every_route_has_an_isolation_case(client: TestClient) -> None:
    routes = _routes(client)
    missing = [r for r in routes if r not in CASES and r not in PUBLIC]
    assert not missing, f"routes without an isolation case: {missing}"
    stale = [r for r in list(CASES) + list(PUBLIC) if r not in routes]
    assert not stale, f"isolation cases for routes that do not exist: {stale}"
    served = _served_api_routes(client)
    hidden = [(m, p) for m, p, in_schema in served if not in_schema]
    assert not hidden, f"API routes must be in the OpenAPI schema: {hidden}"
    api_routes = {(m, p) for m, p in routes if p.startswith("/api/")}
    assert {(m, p) for m, p, _ in served} == api_routes, "schema and router disagree"


def _served_outside_the_schema(client: TestClient) -> set[tuple[str, str]]:
    served = set()
    for route in client.app.router.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.include_in_schema:
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                served.add((method, route.path))  # type: ignore[attr-defined]
    return served


def test_every_page_outside_the_schema_is_declared_public(client: TestClient) -> None:
    served = _served_outside_the_schema(client)
    assert served == set(PAGES), (
        f"undeclared: {sorted(served - set(PAGES))}; gone: {sorted(set(PAGES) - served)}"
    )


def test_the_pages_answer_anyone_without_tenant_data(client: TestClient, run: Runner) -> None:
    world = build_world(client, run)
    before = _audit_count(run, world.a_owner.client_id)
    for method, path in sorted(PAGES):
        url = path.replace("{name}", "kerops.css")
        for headers in ({}, world.outsiders["b_owner"].headers):
            response = client.request(method, url, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
            assert not [i for i in world.a_ids if i in response.text], path
    assert _audit_count(run, world.a_owner.client_id) == before


def test_every_non_public_route_requires_credentials(client: TestClient, run: Runner) -> None:
    world = build_world(client, run)
    for method, path in _routes(client):
        if (method, path) in PUBLIC:
            continue
        response = _call(world, method, path, CASES[(method, path)], headers={})
        assert response.status_code == 401, (method, path, response.status_code, response.text)


def _audit_count(run: Runner, client_id: Any) -> int:
    async def count(session: AsyncSession) -> int:
        stmt = select(func.count()).select_from(AuditLog).where(AuditLog.client_id == client_id)
        return int((await session.execute(stmt)).scalar_one())

    return int(run(count))


@pytest.mark.parametrize(
    "outsider",
    [
        "b_owner",
        "b_manager",
        "b_requester",
        "b_technician",
        "b_admin",
        "b_client_manager",
        "b_client_viewer",
        "x_vendor_admin",
    ],
)
def test_outsiders_cannot_reach_client_a(client: TestClient, run: Runner, outsider: str) -> None:
    world = build_world(client, run)
    account = world.outsiders[outsider]
    failures = []
    # each call is checked against the count right before it: the previous call's "after"
    before = _audit_count(run, world.a_owner.client_id)
    for method, path in _routes(client):
        case = CASES.get((method, path))
        if case is None:
            continue
        response = _call(world, method, path, case, headers=account.headers)
        status = response.status_code
        text = response.text
        # An id the caller sent in the path may be echoed back (problem details' "instance").
        asked = response.request.url.path
        leaked = [i for i in world.a_ids if i in text and i not in asked]
        if case.kind == "list":
            ok = status in (200, 403, 404) and not leaked
        else:
            ok = status in case.expect and not leaked
        if ok and status >= 400:
            ok = response.headers["content-type"].startswith("application/problem+json")
        after = _audit_count(run, world.a_owner.client_id)
        if after != before:
            ok = False
        before = after
        if not ok:
            failures.append((method, path, status, leaked, text[:200]))
    assert not failures, "\n".join(map(str, failures))
