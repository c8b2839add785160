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

from kerops.assets.models import Asset
from kerops.audit.models import AuditLog
from tests.assets.isolation_cases_assets import a_objects
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


def _collect_data_pages() -> dict[tuple[str, str], str]:
    pages: dict[tuple[str, str], str] = {}
    for path in sorted(TESTS_DIR.rglob("isolation_cases*.py")):
        module_name = ".".join(path.relative_to(TESTS_DIR.parent).with_suffix("").parts)
        pages.update(getattr(importlib.import_module(module_name), "DATA_PAGES", {}))
    return pages


#: ``DATA_PAGES``: the pages outside the OpenAPI document that read a client's data (the scan
#: pages of QR codes), public by design, each with the reason.
DATA_PAGES = _collect_data_pages()


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
    declared = set(PAGES) | set(DATA_PAGES)
    assert served == declared, (
        f"undeclared: {sorted(served - declared)}; gone: {sorted(declared - served)}"
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


def test_the_data_pages_show_every_outsider_only_what_anyone_sees(
    client: TestClient, run: Runner
) -> None:
    # A's asset page, a report sent from it and that report's follow-up page, as anyone and as
    # every outsider: the same public answer, no id of A's, no other of A's tickets.
    assert set(DATA_PAGES) == {
        ("GET", "/scan/{code}"),
        ("POST", "/scan/{code}"),
        ("GET", "/follow-up/{token}"),
    }, "a new data page needs its calls here"
    world = build_world(client, run)
    code = _a_qr_code(run, a_objects(world)["asset"])
    callers: dict[str, dict[str, str]] = {"anyone": {}}
    callers.update({name: account.headers for name, account in world.outsiders.items()})
    for name, headers in callers.items():
        page = client.get(f"/scan/{code}", headers=headers)
        assert page.status_code == 200, name
        assert not [i for i in world.a_ids if i in page.text], name
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None, name
        sent = client.post(
            f"/scan/{code}",
            data={"description": f"Gotea ({name})", "csrf_token": token.group(1)},
            files={"photo": ("", b"", "application/octet-stream")},
            headers=headers,
        )
        assert sent.status_code == 200, (name, sent.text)  # the follow-up page, after a 303
        assert not [i for i in world.a_ids if i in sent.text], name
        link = re.search(r'href="http://testserver(/follow-up/[A-Za-z0-9_\-]+)"', sent.text)
        assert link is not None, name
        follow = client.get(link.group(1), headers=headers)
        assert follow.status_code == 200 and f"Gotea ({name})" not in follow.text, name
        assert not [i for i in world.a_ids if i in follow.text], name
        assert client.get("/follow-up/" + "A" * 43, headers=headers).status_code == 404


def _a_qr_code(run: Runner, asset_id: Any) -> str:
    async def load(session: AsyncSession) -> str:
        return str(
            (await session.execute(select(Asset.qr_code).where(Asset.id == asset_id))).scalar_one()
        )

    code: str = run(load)
    return code


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
