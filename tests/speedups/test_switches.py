"""Each speed-up has a switch (``KEROPS_SPEEDUPS_OFF``); with any one off the app answers as
with all on: a read, a list, a write and its audit row, a 404 and a 405."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops import speedups
from kerops.audit.models import AuditLog
from kerops.config import Settings, SpeedupName
from kerops.core import audit, row_scope
from kerops.speedups import fastapi_dependencies, fastapi_params
from kerops.speedups.route_index import RouteIndex
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import make_team

API = "/api/v1"


@pytest.fixture(params=speedups.NAMES)
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"speedups_off": frozenset({request.param})}


def test_the_switches_name_every_speed_up() -> None:
    assert set(speedups.NAMES) == set(get_args(SpeedupName))
    assert len(speedups.NAMES) == 7


def test_the_switch_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEROPS_SPEEDUPS_OFF", "route_index, direct_reads")
    assert Settings().speedups_off == {"route_index", "direct_reads"}
    monkeypatch.setenv("KEROPS_SPEEDUPS_OFF", "no_such_speedup")
    with pytest.raises(ValueError, match="speedups_off"):
        Settings()


def _in_effect(client: TestClient) -> set[str]:
    state = client.app.state.kerops  # type: ignore[attr-defined]
    effect = {
        "fastapi_params": fastapi_params.installed(),
        "fastapi_dependencies": fastapi_dependencies.installed(),
        "route_index": isinstance(client.app.router.middleware_stack, RouteIndex),  # type: ignore[attr-defined]
        "direct_reads": state.db.reads.direct,
        "audit_committed_state": audit.READ_COMMITTED_STATE,
        "scope_with_begin": row_scope.carries_scope_with_begin(state.db.engine),
        "scope_affinity": isinstance(state.db.engine.pool, row_scope.ScopeAffinePool),
    }
    return {name for name, on in effect.items() if on}


def test_the_app_answers_the_same_with_one_speed_up_off(
    client: TestClient, run: Runner, settings: Settings
) -> None:
    (off,) = settings.speedups_off
    # (SQLite has no direct reads and no row scope: they are PostgreSQL's, through asyncpg.)
    never = {"direct_reads", "scope_with_begin", "scope_affinity"} if settings.is_sqlite else set()
    assert _in_effect(client) == set(speedups.NAMES) - {off} - never

    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, description="Gotea el techo")
    read = client.get(f"{API}/tickets/{ticket['id']}", headers=team.requester.headers)
    assert read.status_code == 200, read.text
    kept = ("id", "number", "title", "description", "status", "locale_id", "created_at")
    assert {key: read.json()[key] for key in kept} == {key: ticket[key] for key in kept}
    listed = client.get(
        f"{API}/tickets",
        params=[("status", "open"), ("status", "assigned"), ("limit", "5")],
        headers=team.owner.headers,
    )
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [ticket["id"]]
    bad = client.get(f"{API}/tickets", params={"limit": "many"}, headers=team.owner.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "limit"]
    missing = client.get(f"{API}/tickets/{team.locale1}", headers=team.owner.headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert client.get(f"{API}/no-such-thing").status_code == 404
    assert client.put(f"{API}/tickets", headers=team.owner.headers).status_code == 405

    async def audited(session: AsyncSession) -> dict[str, Any]:
        rows = await session.scalars(
            select(AuditLog.changes).where(
                AuditLog.record_id == ticket["id"], AuditLog.action == "create"
            )
        )
        changes: dict[str, Any] = rows.one()
        return changes

    changes = run(audited)
    assert changes["description"] == {"before": None, "after": "Gotea el techo"}
