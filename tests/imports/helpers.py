"""Helpers of the import tests: files in CSV (``,`` or ``;``) and XLSX, and the import call."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.tenancy.models import Locale
from tests.fixtures.factories import Account, Runner

API = "/api/v1"
Cells = Sequence[Sequence[Any]]


def csv_file(rows: Cells, delimiter: str = ",") -> bytes:
    """A CSV table in UTF-8 (with the BOM Excel writes)."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_file(rows: Cells) -> bytes:
    """An XLSX workbook whose first sheet holds ``rows`` (strings as text, numbers as numbers)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Datos")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, int | float):
                sheet.write_number(r, c, value)
            elif value is not None:
                sheet.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


FORMATS = {
    "csv_comma": lambda rows: csv_file(rows, ","),
    "csv_semicolon": lambda rows: csv_file(rows, ";"),
    "xlsx": xlsx_file,
}


def post_import(
    client: TestClient,
    account: Account,
    kind: str,
    data: bytes,
    *,
    dry_run: bool = True,
    filename: str = "datos.csv",
    language: str = "es-CL",
) -> Response:
    """Send a file to the import route."""
    return client.post(
        f"{API}/imports/{kind}",
        files={"file": (filename, data, "application/octet-stream")},
        data={"dry_run": "true" if dry_run else "false"},
        headers={**account.headers, "Accept-Language": language},
    )


def set_locale_code(run: Runner, locale_id: uuid.UUID, code: str) -> None:
    """Give a locale a code."""

    async def change(session: AsyncSession) -> None:
        await session.execute(update(Locale).where(Locale.id == locale_id).values(code=code))

    run(change)


def count(run: Runner, model: Any, *where: Any) -> int:
    """How many rows of ``model`` there are (matching ``where``)."""

    async def counted(session: AsyncSession) -> int:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)
        return int((await session.execute(stmt)).scalar_one())

    result: int = run(counted)
    return result


def problems(response: Response) -> list[tuple[int, str | None, str]]:
    """The (row, column, code) of each problem of a report (or of a 422's report)."""
    body = response.json()
    report = body.get("report", body)
    return [(p["row"], p["column"], p["code"]) for p in report["errors"]]
