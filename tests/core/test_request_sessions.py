"""The request's session: reads end without a commit where there is nothing to commit, and
what a request changed is still committed."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.core.deps import SessionDep
from kerops.main import create_app
from kerops.system.models import Setting


def _app_with_test_routes(settings: Settings) -> Any:
    app = create_app(settings)

    @app.get("/test/read-adds")
    async def read_adds(session: SessionDep) -> dict[str, str]:
        # Not flushed when the handler returns: the end of the request must still write it.
        session.add(Setting(key="added-by-a-read", value_type="str", value="x"))
        return {"ok": "yes"}

    @app.get("/test/read-only")
    async def read_only(session: SessionDep) -> dict[str, int]:
        count = (await session.execute(select(func.count()).select_from(Setting))).scalar_one()
        return {"settings": int(count)}

    return app


def _count(client: TestClient, key: str) -> int:
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def count() -> int:
        async with state.db.sessions() as session:
            assert isinstance(session, AsyncSession)
            stmt = select(func.count()).select_from(Setting).where(Setting.key == key)
            return int((await session.execute(stmt)).scalar_one())

    return int(client.portal.call(count))  # type: ignore[union-attr]


def test_a_read_that_changed_an_object_still_commits_it(settings: Settings) -> None:
    with TestClient(_app_with_test_routes(settings)) as client:
        assert client.get("/test/read-only").status_code == 200
        assert client.get("/test/read-adds").json() == {"ok": "yes"}
        assert _count(client, "added-by-a-read") == 1
        # The read-only route's session ended cleanly: the next requests work.
        assert client.get("/test/read-only").status_code == 200
        assert client.get("/test/read-only").json()["settings"] >= 1


def test_reads_skip_the_commit_only_without_a_transaction(settings: Settings) -> None:
    with TestClient(_app_with_test_routes(settings)) as client:
        db = client.app.state.kerops.db  # type: ignore[attr-defined]
        assert db.reads_autocommit is (not settings.is_sqlite)
