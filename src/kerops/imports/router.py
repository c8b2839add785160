"""Imports by spreadsheet: a file of one kind checked (dry run) or imported, and the templates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from kerops.core.deps import AuthenticatedUploadRoute, PrincipalDep, SessionDep, StateDep
from kerops.core.i18n import current_language
from kerops.core.mail import deliver
from kerops.core.storage.downloads import content_disposition
from kerops.core.storage.uploads import too_large
from kerops.imports import fields, service, templates
from kerops.imports.columns import ImportKind
from kerops.imports.schemas import ImportReport, TemplateFormat, TemplateLanguage

router = APIRouter(tags=["imports"])


class ImportRoute(AuthenticatedUploadRoute):
    """An upload route bounded by ``KEROPS_IMPORT_MAX_BYTES`` (a spreadsheet, not an attachment)."""

    limit_setting = "import_max_bytes"


uploads = APIRouter(tags=["imports"], route_class=ImportRoute)

#: The 200 answer of a template download.
TEMPLATE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The template: the headers, an example row and (XLSX) a notes sheet.",
        "content": {
            templates.XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


async def _read(upload: UploadFile, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


@uploads.post("/imports/{kind}", response_model=ImportReport)
async def run_import(
    kind: ImportKind,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    background: BackgroundTasks,
    file: Annotated[
        UploadFile, File(description="A CSV table (UTF-8, , or ;) or an XLSX workbook")
    ],
    dry_run: Annotated[
        bool, Form(description="Only check the file and report (default); false imports it")
    ] = True,
) -> ImportReport:
    """Import a spreadsheet of locales, areas, assets, products, users or plans.

    A dry run (the default) lists every problem of the file by row and column and writes
    nothing. A real run writes every row or, on any problem, nothing (422 with the report).
    """
    data = await _read(file, state.settings.import_max_bytes)
    report, messages = await service.run_import(
        session, state, principal=principal, kind=kind, data=data, dry_run=dry_run
    )
    for message in messages:
        background.add_task(deliver, state.sender, message)  # only once the import committed
    return report


@router.get("/imports/{kind}/template", response_class=Response, responses=TEMPLATE_RESPONSE)
async def get_import_template(
    kind: ImportKind,
    principal: PrincipalDep,
    session: SessionDep,
    request: Request,
    format: Annotated[TemplateFormat, Query(description="xlsx (default) or csv")] = (
        TemplateFormat.xlsx
    ),
    language: Annotated[
        TemplateLanguage | None, Query(description="The headers' language (default: the request's)")
    ] = None,
) -> Response:
    """A template of an import: the headers, an example row and the notes of each column, with
    one column per active custom field of the caller's client (locales and assets)."""
    del request
    chosen = language.value if language is not None else current_language()
    extra = await fields.template_columns(session, principal.client_id, kind, chosen)
    body, media_type, filename = templates.build(kind, format, chosen, extra)
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
        },
    )
