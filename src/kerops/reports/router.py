"""Exports of the registered lists (``GET {list}/export``) and reports (``/reports``).

(No ``from __future__ import annotations`` here: each export route's filters are its list's
own model, given to FastAPI as a real annotation.)"""

import tempfile
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from kerops.core import deps
from kerops.core.audit import set_audit_context
from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep, StateDep
from kerops.core.documents import Document
from kerops.core.errors import Conflict, Unprocessable, field_error
from kerops.core.i18n import current_language, gettext
from kerops.core.openapi import answers
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.principal import AuditContext
from kerops.core.storage.backends import StorageDep
from kerops.core.storage.downloads import download_headers
from kerops.core.types import utcnow
from kerops.reports import files, service
from kerops.reports.lists import LISTS, ExportList
from kerops.reports.models import Report
from kerops.reports.schemas import (
    ReportCreate,
    ReportFormat,
    ReportLanguage,
    ReportLink,
    ReportRead,
)

exports = APIRouter()
router = APIRouter(tags=["reports"])
#: The signed link's download: no sign-in (the link is the credential).
public = APIRouter(tags=["reports"], dependencies=[deps.CROSS_CLIENT])

REPORT_DOCUMENT = Document(Report, ReportRead)
REPORT_SORTS = {"created_at": Report.created_at, "id": Report.id}
ReportPage = Annotated[PageParams, sorted_by(REPORT_SORTS)]
Language = Annotated[
    ReportLanguage | None,
    Query(description="The file's language (default: the request's)"),
]
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment: CSV (streamed), XLSX or PDF.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            files.MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            files.MEDIA_TYPES["pdf"]: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _file_response(body: bytes, name: str, file_format: str) -> Response:
    return Response(
        body,
        media_type=files.MEDIA_TYPES[file_format],
        headers=download_headers(name, len(body)),
    )


async def export_list(
    export: ExportList,
    request: Request,
    reader: Any,
    state: Any,
    filters: Any,
    file_format: ReportFormat,
    language: ReportLanguage | None,
) -> Response:
    """The file of a list's rows as the caller reads them, filtered as the list (409
    ``export_use_report`` above ``report_direct_max_rows`` rows); audited."""
    maximum = state.settings.report_direct_max_rows
    chosen = language.value if language is not None else current_language()
    async with reader.sharing():
        walk = await service.begin(reader, export, filters)
        count = await walk.count(maximum + 1)
        if count > maximum:
            raise Conflict(
                gettext(
                    "An export answers at most {maximum} rows; ask for it as a report "
                    "(POST /api/v1/reports).",
                    maximum=maximum,
                ),
                code="export_use_report",
                maximum=maximum,
            )
        timezone = await service.reader_timezone(reader)
    layout = service.layout_of(export, filters, chosen, timezone)
    async with state.db.sessions() as session:
        set_audit_context(
            session.sync_session,
            AuditContext(
                request_id=getattr(request.state, "request_id", None),
                ip_address=request.client.host if request.client else None,
            ),
        )
        service.audit_export(
            session,
            reader.principal,
            kind=export.kind,
            file_format=file_format.value,
            filters=layout.filters,
            rows=count,
        )
        await session.commit()
    name = service.filename(export, file_format.value)
    if file_format is ReportFormat.csv:
        return StreamingResponse(
            service.csv_stream(walk, layout),
            media_type=files.MEDIA_TYPES["csv"],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Content-Type-Options": "nosniff",
            },
        )
    with tempfile.TemporaryFile() as out:
        async with reader.sharing():
            await service.write_file(walk, layout, file_format.value, out)
        out.seek(0)
        body = out.read()
    return _file_response(body, name, file_format.value)


def _route(export: ExportList) -> None:
    model = export.filters

    async def endpoint(
        request: Request,
        reader: ReaderDep,
        state: StateDep,
        filters: Annotated[model, Query()],  # type: ignore[valid-type]
        format: ReportFormat = ReportFormat.csv,
        language: Language = None,
    ) -> Response:
        return await export_list(export, request, reader, state, filters, format, language)

    answers(409)(endpoint)  # export_use_report
    endpoint.__name__ = f"export_{export.kind}_list"
    endpoint.__doc__ = (
        f"The {export.kind.replace('_', ' ')} the caller reads, filtered as their list (all "
        "pages), as CSV, XLSX or PDF in the reader's language (409 `export_use_report` above "
        "the direct limit: ask `POST /reports`)."
    )
    exports.add_api_route(
        f"{export.path}/export",
        endpoint,
        methods=["GET"],
        response_class=Response,
        responses=FILE_RESPONSE,
        tags=[export.tag],
    )


for _export in LISTS.values():
    _route(_export)


# --- reports -------------------------------------------------------------------------------------


@router.post("/reports", response_model=ReportRead, status_code=status.HTTP_202_ACCEPTED)
async def create_report(body: ReportCreate, principal: PrincipalDep, session: SessionDep) -> Report:
    """Ask for a list's rows as a file made by a job (queued): its status at
    ``GET /reports/{id}``, its file at ``/reports/{id}/download`` once ``done``; the requester
    is notified."""
    if body.kind not in LISTS:
        raise Unprocessable(
            gettext("Unknown report kind. Known: {kinds}.", kinds=", ".join(sorted(LISTS))),
            errors=[field_error(("body", "kind"), gettext("unknown kind"), "unknown_kind")],
        )
    language = body.language.value if body.language is not None else current_language()
    return await service.create_report(
        session,
        principal=principal,
        kind=body.kind,
        file_format=body.format.value,
        filters=body.filters,
        language=language,
    )


@router.get("/reports", response_model=Page[ReportRead])
async def list_reports(reader: ReaderDep, page: ReportPage) -> Response:
    """The reports the caller reads (their own; a client's owner and admins: the client's),
    newest first by default (sort: created_at, id)."""
    params = PageParams(limit=page.limit, cursor=page.cursor, sort=page.sort or "-created_at")
    items, cursor = await reader.page(
        reader.rows(Report),
        params,
        sort_fields=REPORT_SORTS,
        id_column=Report.id,
        default_sort="-created_at",
    )
    return await reader.respond_page(REPORT_DOCUMENT, items, cursor)


@router.get("/reports/{report_id}", response_model=ReportRead)
async def get_report(report_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One report and where it stands."""
    return await reader.respond(REPORT_DOCUMENT, report_id)


async def _stream(storage: Any, report: dict[str, Any]) -> StreamingResponse:
    service.ensure_ready(report, now=utcnow())
    size, chunks = await storage.open(report["storage_key"])
    return StreamingResponse(
        chunks,
        media_type=report["content_type"] or "application/octet-stream",
        headers=download_headers(report["filename"] or "report", size),
    )


@router.get(
    "/reports/{report_id}/download", response_class=StreamingResponse, responses=FILE_RESPONSE
)
@answers(409, 410)
async def download_report(
    report_id: uuid.UUID, reader: ReaderDep, storage: StorageDep
) -> StreamingResponse:
    """A report's file (409 ``report_not_ready`` before it is written, 410 ``report_expired``
    after its time)."""
    return await _stream(storage, await reader.row(Report, report_id))


@router.get("/reports/{report_id}/link", response_model=ReportLink)
@answers(409, 410)
async def get_report_link(
    report_id: uuid.UUID, reader: ReaderDep, state: StateDep, request: Request
) -> ReportLink:
    """A signed link downloading the report's file without signing in, until it expires
    (``report_link_seconds``, at most the file's own expiry)."""
    report = await reader.row(Report, report_id)
    now = utcnow()
    service.ensure_ready(report, now=now)
    token = service.sign_link(state.security.session_secret, report_id)
    expires = now + timedelta(seconds=state.settings.report_link_seconds)
    if report["expires_at"] is not None:
        expires = min(expires, report["expires_at"])
    url = str(request.url_for("download_report_link", token=token).path)
    return ReportLink(url=url, expires_at=expires)


@public.get("/report-files/{token}", response_class=StreamingResponse, responses=FILE_RESPONSE)
@answers(403, 409, 410)
async def download_report_link(
    token: Annotated[str, Path(max_length=512)], state: StateDep, storage: StorageDep
) -> StreamingResponse:
    """A report's file through its signed link (410 ``report_link_expired`` once the link
    expired, 403 ``report_link_invalid`` for a link this service did not sign)."""
    report_id = service.read_link(
        state.security.session_secret, token, max_age=state.settings.report_link_seconds
    )
    report = await service.report_row(state.db.reads, report_id)
    return await _stream(storage, report)
