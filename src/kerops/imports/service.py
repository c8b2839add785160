"""Imports: a spreadsheet of one kind read, checked row by row and, unless a dry run, written in
the request's one transaction: any problem and nothing is written (all or nothing)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.errors import Unprocessable
from kerops.core.i18n import current_language, gettext
from kerops.core.mail import OutgoingMessage
from kerops.core.principal import Principal
from kerops.core.state import AppState
from kerops.imports import stock  # noqa: F401  (declares and registers the stock kind)
from kerops.imports.columns import ImportKind
from kerops.imports.kinds import IMPORTERS, Run
from kerops.imports.reading import read_table
from kerops.imports.schemas import ImportReport
from kerops.imports.sheets import read_sheet


async def run_import(
    session: AsyncSession,
    state: AppState,
    *,
    principal: Principal,
    kind: ImportKind,
    data: bytes,
    dry_run: bool,
) -> tuple[ImportReport, list[OutgoingMessage]]:
    """Check (and unless ``dry_run`` write) a file of ``kind``: the report and the emails to
    send once committed. A real run with any problem raises 422 with the report."""
    table = read_table(data)
    sheet = read_sheet(
        kind, table, language=current_language(), max_rows=state.settings.import_max_rows
    )
    run = Run(session=session, principal=principal, state=state, sheet=sheet, dry_run=dry_run)
    created = 0
    if sheet.readable:
        created = await IMPORTERS[kind](run)
    report = ImportReport(
        kind=kind,
        dry_run=dry_run,
        rows=len(sheet.rows),
        created=0 if sheet.problems else created,
        errors=sheet.sorted_problems(),
    )
    if not dry_run and report.errors:
        raise Unprocessable(
            gettext(
                "The file has {count} problems; nothing was imported.", count=len(report.errors)
            ),
            code="import_invalid",
            report=report.model_dump(mode="json"),
        )
    return report, run.messages
