"""Spreadsheets of the inventory: the product catalogue and stock levels, imported (the imports
of kind ``products`` and ``stock``: dry run, all or nothing, problems by row and column) and
exported in the same columns."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, UploadFile
from fastapi.responses import Response, StreamingResponse

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep, StateDep
from kerops.core.i18n import current_language
from kerops.core.mail import deliver
from kerops.core.storage.downloads import content_disposition
from kerops.core.types import utcnow
from kerops.exports.service import MEDIA_TYPES, ExportFormat
from kerops.imports import inventory_files, service
from kerops.imports.columns import ImportKind
from kerops.imports.inventory_files import Table
from kerops.imports.router import ImportRoute, _read
from kerops.imports.schemas import ImportReport, TemplateLanguage

router = APIRouter(tags=["inventory"])
uploads = APIRouter(tags=["inventory"], route_class=ImportRoute)

FileField = Annotated[
    UploadFile, File(description="A CSV table (UTF-8, , or ;) or an XLSX workbook")
]
DryRun = Annotated[
    bool, Form(description="Only check the file and report (default); false imports it")
]
Language = Annotated[
    TemplateLanguage | None,
    Query(description="The headers' and numbers' language (default: the request's)"),
]
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file: CSV (UTF-8, streamed) or XLSX, as an attachment.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            MEDIA_TYPES[ExportFormat.xlsx]: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


async def _import(
    kind: ImportKind,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    background: BackgroundTasks,
    file: UploadFile,
    dry_run: bool,
) -> ImportReport:
    data = await _read(file, state.settings.import_max_bytes)
    report, messages = await service.run_import(
        session, state, principal=principal, kind=kind, data=data, dry_run=dry_run
    )
    for message in messages:
        background.add_task(deliver, state.sender, message)
    return report


@uploads.post("/products/import", response_model=ImportReport)
async def import_products(
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    background: BackgroundTasks,
    file: FileField,
    dry_run: DryRun = True,
) -> ImportReport:
    """Import products into the caller's catalogue (its owner and admins), as
    ``POST /imports/products``: a dry run (the default) reports every problem by row and
    column; a real run writes every row or nothing (422 with the report)."""
    return await _import(ImportKind.products, principal, session, state, background, file, dry_run)


@uploads.post("/inventory/stock/import", response_model=ImportReport)
async def import_stock(
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    background: BackgroundTasks,
    file: FileField,
    dry_run: DryRun = True,
) -> ImportReport:
    """Set stock levels of warehouses the caller manages: per row the quantity on hand (the
    difference from the stock is one ``adjustment`` movement of the ledger), the reorder
    settings and the bin. Dry run by default; a real run writes every row or nothing."""
    return await _import(ImportKind.stock, principal, session, state, background, file, dry_run)


def _file(table: Table, name: str, file_format: ExportFormat, language: str) -> Response:
    filename = f"{name}-{utcnow():%Y%m%d-%H%M%S}.{file_format.value}"
    headers = {
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
    }
    if file_format is ExportFormat.xlsx:
        return Response(
            inventory_files.xlsx_bytes(table, name, language),
            media_type=MEDIA_TYPES[file_format],
            headers=headers,
        )
    return StreamingResponse(
        inventory_files.csv_chunks(table, language),
        media_type=MEDIA_TYPES[file_format],
        headers=headers,
    )


@router.get("/products/export", response_class=Response, responses=FILE_RESPONSE)
async def export_products(
    reader: ReaderDep,
    format: ExportFormat = ExportFormat.csv,
    language: Language = None,
) -> Response:
    """The caller's own catalogue (its owner and admins) in the columns of the products
    import, so the file imports again."""
    chosen = language.value if language is not None else current_language()
    table = await inventory_files.products_table(reader, language=chosen)
    return _file(table, "products", format, chosen)


@router.get("/inventory/stock/export", response_class=Response, responses=FILE_RESPONSE)
async def export_stock(
    reader: ReaderDep,
    format: ExportFormat = ExportFormat.csv,
    warehouse_id: uuid.UUID | None = None,
    language: Language = None,
) -> Response:
    """The stock of the warehouses the caller reads (or of one): on hand, reserved,
    available, on order, reorder settings, bin and average cost, in the columns of the stock
    import."""
    chosen = language.value if language is not None else current_language()
    table = await inventory_files.stock_table(reader, language=chosen, warehouse_id=warehouse_id)
    return _file(table, "stock", format, chosen)
