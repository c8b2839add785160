"""The PostgreSQL connection pool keeps what it opens: a burst of concurrent work beyond its size
waits for a connection instead of opening (and closing again) connections of its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

from tests.conftest import USE_PG

pytestmark = pytest.mark.skipif(not USE_PG, reason="the pool sizes apply to PostgreSQL")

POOL = 3


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"database_pool_size": POOL}


def test_bursts_beyond_the_pool_size_reuse_its_connections(client: TestClient) -> None:
    state = client.app.state.kerops  # type: ignore[attr-defined]
    engine = state.db.engine.sync_engine
    opened: list[object] = []
    busy = {"now": 0, "most": 0}

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        opened.append(dbapi_connection)

    async def one() -> None:
        async with state.db.read_sessions() as session:
            await session.execute(text("SELECT 1"))  # holds a connection from here on
            busy["now"] += 1
            busy["most"] = max(busy["most"], busy["now"])
            await asyncio.sleep(0.05)
            busy["now"] -= 1

    async def burst() -> None:
        await asyncio.gather(*(one() for _ in range(3 * POOL)))

    event.listen(engine, "connect", on_connect)
    try:
        for _ in range(3):
            client.portal.call(burst)  # type: ignore[union-attr]
    finally:
        event.remove(engine, "connect", on_connect)
    assert busy["most"] == POOL  # the rest waited for a connection
    assert len(opened) <= POOL  # and nothing was opened again for the later bursts
    assert engine.pool.checkedin() == len(opened)  # all kept open, none closed
