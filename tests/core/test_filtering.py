"""``one_of``: membership in a list of values, the same rows on both databases, and on
PostgreSQL one statement text whatever the list's length."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.filtering import one_of
from kerops.users.models import User
from tests.fixtures.factories import Runner, register_owner


def test_one_of_finds_exactly_the_listed_rows_with_one_text_per_dialect(
    client: TestClient, run: Runner
) -> None:
    owners = [register_owner(client) for _ in range(3)]
    ids = [owner.id for owner in owners]
    sent: list[str] = []

    async def members(session: AsyncSession, wanted: list[uuid.UUID]) -> set[uuid.UUID]:
        name = session.get_bind().dialect.name
        stmt = select(User.id).where(one_of(User.id, "ids", name))
        return set((await session.execute(stmt, {"ids": wanted})).scalars())

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "users.id" in statement and statement.lstrip().upper().startswith("SELECT"):
            sent.append(statement)

    engine = client.app.state.kerops.db.engine.sync_engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert run(lambda s: members(s, [])) == set()
        assert run(lambda s: members(s, ids[:1])) == set(ids[:1])
        assert run(lambda s: members(s, [*ids, uuid.uuid4()])) == set(ids)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(sent) == 3
    if engine.dialect.name == "postgresql":
        assert len(set(sent)) == 1 and "ANY" in sent[0]
    else:
        assert len(set(sent)) == 3  # an expanding IN: one text per length
