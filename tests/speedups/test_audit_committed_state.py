"""Speed-up ``audit_committed_state``: the ORM still keeps the values from before a change in
``InstanceState.committed_state`` (``NO_VALUE`` for one never loaded), and the audit diff read
from it equals the one read from each column's history (the path taken with the switch off)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import attributes, base

from kerops.core import audit
from kerops.users.models import User
from tests.fixtures.factories import Runner, register_owner


def test_the_orm_keeps_the_values_from_before_a_change(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert audit.NO_VALUE is base.NO_VALUE

    async def change(session: AsyncSession) -> None:
        user = await session.get(User, owner.id)
        assert user is not None
        state = attributes.instance_state(user)
        assert state.committed_state == {}
        before = user.full_name
        user.full_name = "Otra Persona"
        assert state.committed_state["full_name"] == before
        user.phone = "+56911112222"
        diff = audit._snapshot(user, changed_only=True)
        assert diff == audit._snapshot_from_history(user, changed_only=True)
        assert diff["full_name"] == {"before": before, "after": "Otra Persona"}
        assert set(diff) == {"full_name", "phone"}
        whole = audit._snapshot(user, changed_only=False)
        assert whole == audit._snapshot_from_history(user, changed_only=False)
        fresh = User(email=f"{uuid.uuid4().hex}@example.com", full_name="Nueva")
        assert audit._snapshot(fresh, changed_only=False) == audit._snapshot_from_history(
            fresh, changed_only=False
        )
        # A column changed before it was ever loaded: its value before is NO_VALUE.
        session.expire(user, ["language"])
        user.language = "en-US"
        assert state.committed_state["language"] is base.NO_VALUE
        diff = audit._snapshot(user, changed_only=True)
        assert diff == audit._snapshot_from_history(user, changed_only=True)
        assert diff["language"] == {"before": None, "after": "en-US"}
        await session.rollback()

    run(change)
