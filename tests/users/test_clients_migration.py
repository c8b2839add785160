"""The migration that gives clients a row of their own keeps every client_id and every row."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from kerops.config import Settings, normalise_database_url
from kerops.core.migrate import downgrade, upgrade
from tests.conftest import USE_PG, _pg_admin, _pg_url, make_settings

BEFORE = "0014"
CLIENTS = "0015"


@pytest.fixture
def empty_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings over an empty database of its own (SQLite file, or a new PostgreSQL database)."""
    if not USE_PG:
        yield make_settings(tmp_path, None)
        return
    name = f"kerops_mig_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_settings(tmp_path, normalise_database_url(_pg_url(name)))
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sql(settings: Settings, statements: list[tuple[str, dict[str, Any]]]) -> list[list[Any]]:
    """Run statements in one transaction; the rows of each."""

    async def go() -> list[list[Any]]:
        engine = create_async_engine(settings.resolved_database_url)
        try:
            async with engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                results = []
                for sql, params in statements:
                    result = await conn.execute(text(sql), params)
                    results.append(list(result.all()) if result.returns_rows else [])
                return results
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _id(settings: Settings, value: uuid.UUID) -> Any:
    return value.hex if settings.is_sqlite else value


USER = (
    "INSERT INTO users (id, email, full_name, role, client_id, plan, skills, is_active, language, "
    "timezone, created_at, updated_at) VALUES (:id, :email, 'N', :role, :client, :plan, '[]', "
    "true, 'es-CL', 'UTC', :now, :now)"
)
LOCALE = (
    "INSERT INTO locales (id, client_id, name, address, city, region, country, timezone, "
    "is_active, business_hours, closed_dates, created_at, updated_at) VALUES (:id, :client, 'L', "
    "'', '', '', 'CL', 'UTC', true, '{}', '[]', :now, :now)"
)


def test_each_owner_becomes_a_client_row_with_the_same_id(empty_settings: Settings) -> None:
    s = empty_settings
    upgrade(s, BEFORE)
    owner, co_owner, member, locale = (uuid.uuid4() for _ in range(4))
    now: Any = "2026-01-01 00:00:00" if s.is_sqlite else datetime(2026, 1, 1, tzinfo=UTC)
    client = _id(s, owner)
    rows = [
        (owner, "client_owner", "pro"),
        (co_owner, "client_owner", "free"),
        (member, "client_member", "free"),
    ]
    _sql(
        s,
        [
            (
                USER,
                {
                    "id": _id(s, u),
                    "email": f"{u}@example.cl",
                    "role": r,
                    "client": client,
                    "plan": p,
                    "now": now,
                },
            )
            for u, r, p in rows
        ]
        + [(LOCALE, {"id": _id(s, locale), "client": client, "now": now})],
    )

    upgrade(s, CLIENTS)

    clients, roles, locales = _sql(
        s,
        [
            ("SELECT id, owner_user_id, plan FROM clients", {}),
            ("SELECT id, role, client_role, client_id FROM users", {}),
            ("SELECT client_id FROM locales", {}),
        ],
    )
    assert [tuple(str(v).replace("-", "") for v in row) for row in clients] == [
        (owner.hex, owner.hex, "pro")
    ]
    by_id = {str(row[0]).replace("-", ""): tuple(row[1:3]) for row in roles}
    assert by_id == {
        owner.hex: ("client_owner", None),
        co_owner.hex: ("client_member", "admin"),  # one owner per client
        member.hex: ("client_member", None),
    }
    assert {str(row[3]).replace("-", "") for row in roles} == {owner.hex}
    assert [str(row[0]).replace("-", "") for row in locales] == [owner.hex]

    downgrade(s, BEFORE)
    (users,) = _sql(s, [("SELECT id, role, plan FROM users", {})])
    back = {str(row[0]).replace("-", ""): tuple(row[1:]) for row in users}
    assert back[owner.hex] == ("client_owner", "pro")
    assert back[co_owner.hex] == ("client_owner", "pro")
    assert back[member.hex] == ("client_member", "pro")
