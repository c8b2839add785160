"""Rows inserted with the driver's ``executemany`` (``kerops.core.bulk``) read back as the ORM
writes them, under the caller's row scope; their audit rows say what the ORM's would."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

import asyncpg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kerops.assets.models import Asset
from kerops.core import audit, bulk, row_scope
from kerops.core.enums import AssetStatus
from kerops.core.principal import AuditContext
from kerops.core.types import utcnow, uuid7
from tests.conftest import USE_PG
from tests.fixtures.factories import Runner, make_locale, register_owner

COLUMNS = (
    "id",
    "client_id",
    "locale_id",
    "name",
    "code",
    "category",
    "make",
    "model",
    "notes",
    "status",
    "install_date",
    "criticality",
    "meter_readings",
    "qr_code",
    "custom_fields",
    "created_at",
    "updated_at",
)
TABLE = cast("Table", Asset.__table__)


def _row(client_id: uuid.UUID, locale_id: uuid.UUID, code: str) -> list[Any]:
    now = datetime(2026, 12, 7, 21, 30, 15, 123456, tzinfo=UTC)
    return [
        uuid7(),
        client_id,
        locale_id,
        "Bomba ñandú",
        code,
        "climatización",
        "",
        "M-1",
        "",
        AssetStatus.down,
        date(2024, 3, 15),
        4,
        {"horas": 1250.5},
        f"qr-{code}",
        {},
        now,
        now,
    ]


def test_rows_read_back_as_the_orm_writes_them(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)
    rows = [_row(owner.client_id, locale_id, code) for code in ("B-1", "B-2")]
    expected = [list(row) for row in rows]

    async def insert(session: AsyncSession) -> None:
        await bulk.insert_rows(session, TABLE, COLUMNS, rows)

    run(insert)

    async def read(session: AsyncSession) -> list[Asset]:
        found = await session.execute(select(Asset).where(Asset.locale_id == locale_id))
        return list(found.scalars())

    stored = {a.code: a for a in run(read)}
    for row in expected:
        asset = stored[row[4]]
        assert [getattr(asset, name) for name in COLUMNS] == row
        assert asset.status is AssetStatus.down


def test_a_broken_unique_key_is_refused(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id)
    run(lambda s: bulk.insert_rows(s, TABLE, COLUMNS, [_row(owner.client_id, locale_id, "C-1")]))

    async def again(session: AsyncSession) -> None:
        await bulk.insert_rows(session, TABLE, COLUMNS, [_row(owner.client_id, locale_id, "C-1")])

    with pytest.raises(bulk.RowsRefused):
        run(again)


@pytest.mark.skipif(not USE_PG, reason="row-level security is PostgreSQL's")
def test_the_callers_row_scope_applies(client: TestClient, run: Runner) -> None:
    owner, other = register_owner(client), register_owner(client)
    assert owner.client_id is not None and other.client_id is not None
    locale_id = make_locale(run, owner.client_id)

    async def as_other(session: AsyncSession) -> None:
        with row_scope.scoped(row_scope.of_client(other.client_id)):
            await bulk.insert_rows(
                session, TABLE, COLUMNS, [_row(owner.client_id, locale_id, "D-1")]
            )

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(as_other)


class _Plain(str):
    """A text of a type of its own (as a ``StrEnum`` is)."""


def test_audit_records_say_what_the_orm_hook_writes() -> None:
    session = Session()
    audit.set_audit_context(session, AuditContext(request_id="r-1", actor_user_id=uuid7()))
    client_id, locale_id = uuid7(), uuid7()
    row = _row(client_id, locale_id, "A-1")
    row[3] = 'Válvula "norte"\n'
    row[11] = True
    row[12] = {"horas": Decimal("1.5"), "ciclos": [1, 2.5], "desde": date(2024, 1, 2)}
    row[14] = {"color": _Plain("rojo")}
    row[15] = utcnow()
    (record,) = audit.created_records(session, Asset, COLUMNS, [row])
    values = dict(zip(audit.LOG_COLUMNS, record, strict=True))
    assert values["record_id"] == str(row[0])
    assert (values["client_id"], values["locale_id"]) == (client_id, locale_id)
    assert (values["action"], values["table_name"], values["request_id"]) == (
        "create",
        "assets",
        "r-1",
    )
    # What the hook writes for an ORM create, less the timestamps, the column left empty and
    # with the QR code hidden: the same JSON text json.dumps writes.
    expected = {
        key: audit._entry(None, value, False)
        for key, value in zip(COLUMNS, row, strict=True)
        if key not in ("created_at", "updated_at", "qr_code") and value is not None
    }
    expected["qr_code"] = audit._entry(None, row[13], True)
    assert values["changes"] == json.dumps(expected)
    assert json.loads(values["changes"])["meter_readings"]["after"] == {
        "horas": "1.5",
        "ciclos": [1, 2.5],
        "desde": "2024-01-02",
    }
