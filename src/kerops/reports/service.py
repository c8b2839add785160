"""Exports of any registered list (``kerops.reports.lists``) and the reports that write them as
jobs.

Rows are read by the list's own function, one keyset page (``CHUNK_ROWS``) at a time: the
list's filters, the caller's reach and the list's order, exactly what its pages show; each
page is one indexed seek after the last one's row, so memory holds one chunk whatever the row
count, on both databases, without keeping a transaction open while a client downloads.

A direct export (``GET {list}/export``) counts its rows first, at most ``report_direct_max_rows
+ 1`` of them (one statement over the list's own first-page statement): above the limit it is
a 409 ``export_use_report`` (ask ``POST /reports``). A report is written by the job
``reports.generate`` to the storage, kept ``report_file_days`` and then swept
(``reports.sweep``); it is downloaded by its requester (``GET /reports/{id}/download``) or
through a signed link that expires (``GET /reports/{id}/link`` gives one).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, cast

import structlog
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from kerops.audit.models import AuditLog
from kerops.core import access, formats, row_scope, sync_log
from kerops.core.audit import AUDIT_CONTEXT_KEY
from kerops.core.enums import ReportStatus
from kerops.core.errors import (
    AppError,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Unprocessable,
    field_error,
)
from kerops.core.i18n import DEFAULT_LANGUAGE, gettext, supported
from kerops.core.jobs import JobContext, enqueue, job
from kerops.core.pagination import PageParams
from kerops.core.principal import AuditContext, Principal
from kerops.core.reads import Reader, StatementRunner
from kerops.core.storage.backends import Storage, create_storage
from kerops.core.storage.sweep import stored_files
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.notifications.models import Notification
from kerops.reports import deliveries, files
from kerops.reports.lists import LISTS, ExportList, Filters
from kerops.reports.models import Report
from kerops.users.models import Client, User

log = structlog.get_logger("kerops.reports")

#: Rows read per keyset page of a list.
CHUNK_ROWS = 1000
FORMATS = ("csv", "xlsx", "pdf")
_LINK_SALT = "kerops.report-download"

stored_files("reports", Report.storage_key)


# --- reading a list ------------------------------------------------------------------------------


class _Recording:
    """A statement runner that runs every statement through the real one and keeps the last
    SELECT given to ``all`` (a list's page, the last statement its function sends)."""

    def __init__(self, runner: StatementRunner) -> None:
        self._runner = runner
        self.last: Select[Any] | None = None
        self.last_params: Mapping[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)

    async def all(self, statement: Select[Any], params: Any = None) -> Sequence[Any]:
        self.last = statement
        self.last_params = dict(params or {})
        return await self._runner.all(statement, params)


@dataclass
class Walk:
    """The rows of a list, a keyset page at a time: the first page is read when the walk is
    made (``begin``), the others as they are iterated."""

    reader: Reader
    export: ExportList
    filters: Filters
    chunk: int
    first: Sequence[Mapping[str, Any]]
    cursor: str | None
    statement: Select[Any] | None = None
    read: int = field(default=0)

    async def count(self, at_most: int) -> int:
        """How many rows the list has, counted up to ``at_most`` (one statement)."""
        if self.cursor is None or self.statement is None:
            return len(self.first)
        counted = select(func.count()).select_from(
            self.statement.limit(at_most).order_by(None).subquery()
        )
        rows = await self.reader.runner.all(counted)
        return int(rows[0][0])

    async def chunks(self) -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        """Each page of rows, the first one first."""
        with row_scope.scoped(row_scope.of_principal(self.reader.principal)):
            rows, cursor = self.first, self.cursor
            while True:
                if rows:
                    self.read += len(rows)
                    yield rows
                if cursor is None:
                    return
                page = PageParams(limit=self.chunk, cursor=cursor, sort=None)
                rows, cursor = await self.export.fetch(self.reader, self.filters, page)


async def begin(
    reader: Reader, export: ExportList, filters: Filters, *, chunk: int = CHUNK_ROWS
) -> Walk:
    """A walk over the rows of ``export`` the reader's caller reads, ``filters`` applied."""
    recording = _Recording(reader.runner)
    recorder = Reader(reader.principal, cast(StatementRunner, recording))
    first, cursor = await export.fetch(
        recorder, filters, PageParams(limit=chunk, cursor=None, sort=None)
    )
    return Walk(reader, export, filters, chunk, first, cursor, statement=recording.last)


def parse_filters(export: ExportList, given: Mapping[str, Any]) -> Filters:
    """A report's ``filters`` as the list's query reads them: 422 for unknown names
    (``unknown_filter``) or bad values (in the validation shape, under ``body.filters``)."""
    unknown = sorted(set(given) - set(export.filters.model_fields))
    if unknown:
        raise Unprocessable(
            gettext("Unknown filter: {names}.", names=", ".join(unknown)),
            errors=[
                field_error(("body", "filters", name), gettext("unknown filter"), "unknown_filter")
                for name in unknown
            ],
        )
    try:
        return export.filters.model_validate(dict(given))
    except ValidationError as exc:
        raise Unprocessable(
            gettext("The filters are not valid for this list."),
            errors=[
                field_error(
                    ("body", "filters", *map(str, error["loc"])), error["msg"], error["type"]
                )
                for error in exc.errors()
            ],
        ) from exc


# --- writing a file ------------------------------------------------------------------------------


def layout_of(export: ExportList, filters: Filters, language: str, timezone: str) -> files.Layout:
    """The layout of an export's file."""
    return files.Layout(
        export=export,
        language=language,
        timezone=timezone,
        filters=filters.model_dump(mode="json", exclude_none=True),
        generated_at=utcnow(),
    )


def filename(export: ExportList, file_format: str) -> str:
    """The name of an export's file: ``tickets-20261208-143000.csv``."""
    return f"{export.kind}-{utcnow():%Y%m%d-%H%M%S}.{file_format}"


async def csv_stream(walk: Walk, layout: files.Layout) -> AsyncIterator[bytes]:
    """The CSV of a walk, a chunk of rows at a time."""
    writer = files.CsvFile(layout)
    yield writer.rows([])
    async for rows in walk.chunks():
        yield writer.rows(rows)


async def write_file(walk: Walk, layout: files.Layout, file_format: str, out: IO[bytes]) -> int:
    """Write the walk's rows as ``file_format`` to ``out`` (a file, read from its start
    after); how many rows."""
    if file_format == "csv":
        async for chunk in csv_stream(walk, layout):
            out.write(chunk)
        return walk.read
    if file_format == "pdf":
        pdf = files.PdfFile(layout)
        async for rows in walk.chunks():
            if walk.read > files.PDF_MAX_ROWS:
                raise Conflict(
                    gettext(
                        "A PDF holds at most {maximum} rows; choose CSV or XLSX.",
                        maximum=files.PDF_MAX_ROWS,
                    ),
                    code="too_many_rows_for_pdf",
                )
            pdf.rows(rows)
        pdf.output(out)
        return walk.read
    with tempfile.TemporaryDirectory(prefix="kerops-xlsx-") as folder:
        path = os.path.join(folder, "export.xlsx")
        book = files.XlsxFile(layout, path)
        async for rows in walk.chunks():
            book.rows(rows)
        book.close()
        files.copy_file(path, out)
    return walk.read


# --- audit ---------------------------------------------------------------------------------------


def audit_export(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: str,
    file_format: str,
    filters: Mapping[str, Any],
    rows: int | None,
    report_id: uuid.UUID | None = None,
) -> None:
    """An audit row of an export: what was exported, as what, with which filters."""
    context: AuditContext = session.info.get(AUDIT_CONTEXT_KEY) or AuditContext(request_id="system")
    session.add(
        AuditLog(
            id=uuid7(),
            occurred_at=utcnow(),
            actor_user_id=principal.user_id,
            actor_api_key_id=principal.api_key_id,
            action="export",
            table_name="reports" if report_id else "exports",
            record_id=str(report_id) if report_id else kind,
            changes={
                "kind": kind,
                "format": file_format,
                "filters": dict(filters),
                "rows": rows,
            },
            client_id=principal.client_id,
            locale_id=None,
            request_id=context.request_id,
            ip_address=context.ip_address,
        )
    )


# --- reports -------------------------------------------------------------------------------------


async def reader_timezone(reader: Reader) -> str:
    """The time zone the caller reads times in (their own)."""
    rows = await reader.runner.all(select(User.timezone).where(User.id == reader.principal.user_id))
    return str(rows[0][0]) if rows and rows[0][0] else "America/Santiago"


async def create_report(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: str,
    file_format: str,
    filters: Mapping[str, Any],
    language: str,
) -> Report:
    """Ask for a report (queued; the job ``reports.generate`` writes it)."""
    if principal.client_id is None:
        raise Forbidden(
            gettext("Reports are made for a client's people."), code="report_needs_client"
        )
    export = LISTS[kind]
    parsed = parse_filters(export, filters)
    timezone = (
        await session.execute(select(User.timezone).where(User.id == principal.user_id))
    ).scalar_one_or_none()
    report = Report(
        id=uuid7(),
        client_id=principal.client_id,
        requested_by_id=principal.user_id,
        kind=kind,
        format=file_format,
        filters=parsed.model_dump(mode="json", exclude_none=True),
        language=language,
        timezone=timezone or "America/Santiago",
        status=ReportStatus.queued,
    )
    session.add(report)
    await session.flush()
    enqueue(session, "reports.generate", report_id=str(report.id))
    return report


async def _requester(session: AsyncSession, report: Report) -> tuple[Principal, User] | None:
    if report.requested_by_id is None:
        return None
    found = (
        await session.execute(
            select(User, Client.language)
            .outerjoin(Client, Client.id == User.client_id)
            .where(User.id == report.requested_by_id)
        )
    ).first()
    if found is None or not found[0].is_active:
        return None
    user, client_language = found
    principal = Principal(
        user_id=user.id,
        role=user.role,
        client_id=user.client_id,
        vendor_id=user.vendor_id,
        client_role=user.client_role,
        language=supported(user.language),
        client_language=supported(client_language),
    )
    return principal, user


def _notify(session: AsyncSession, report: Report, user: User) -> None:
    """Tell the requester their report is ready (or failed), in their language."""
    language = supported(user.language) or report.language or DEFAULT_LANGUAGE
    export = LISTS.get(report.kind)
    what = gettext(export.title, language) if export else report.kind
    now = utcnow()
    done = report.status is ReportStatus.done
    event_type = "report.ready" if done else "report.failed"
    event = Event(
        id=uuid7(),
        client_id=report.client_id,
        type=event_type,
        subject_type="report",
        subject_id=report.id,
        payload={"report_id": str(report.id), "kind": report.kind, "actor_id": None},
        created_at=now,
        dispatched_at=now,  # told here, to its one recipient
        attempts=0,
    )
    if done:
        title = gettext("Your report is ready: {name}", language, name=what)
        body = gettext(
            "{rows} rows, {format}. Download it before {expires}.",
            language,
            rows=report.row_count or 0,
            format=report.format.upper(),
            expires=formats.format_datetime(
                report.expires_at or now, language, timezone=user.timezone
            ),
        )
    else:
        title = gettext("Your report could not be made: {name}", language, name=what)
        body = gettext("Ask for it again with fewer rows or another format.", language)
    notification = Notification(
        id=uuid7(),
        user_id=user.id,
        client_id=report.client_id,
        event_id=event.id,
        type=event_type,
        title=title[:200],
        body=body,
        subject_type="report",
        subject_id=report.id,
        link=f"/api/v1/reports/{report.id}",
        created_at=now,
        updated_at=now,
    )
    session.add(event)
    session.add(notification)
    sync_log.touched(session, Notification, [notification.id])


def storage_key(report: Report, name: str) -> str:
    """Where a report's file is stored (``{client}/reports/{report}/{name}``)."""
    return f"{report.client_id}/reports/{report.id}/{name}"


async def generate(
    session: AsyncSession,
    storage: Storage,
    runner: StatementRunner,
    report: Report,
    *,
    file_days: int,
) -> None:
    """Write ``report``'s file as its requester reads the list now, and tell them."""
    found = await _requester(session, report)
    report.started_at = utcnow()
    export = LISTS.get(report.kind)
    if found is None or export is None:
        report.status = ReportStatus.failed
        report.error_code = "requester_gone" if found is None else "unknown_kind"
        report.finished_at = utcnow()
        return
    principal, user = found
    reader = Reader(principal, runner)
    filters = export.filters.model_validate(report.filters)
    layout = layout_of(export, filters, report.language, report.timezone)
    name = filename(export, report.format)
    try:
        with row_scope.scoped(row_scope.of_principal(principal)):
            async with reader.sharing():
                walk = await begin(reader, export, filters)
                with tempfile.TemporaryFile() as out:
                    rows = await write_file(walk, layout, report.format, out)
                    size = out.tell()
                    out.seek(0)
                    key = storage_key(report, name)
                    await storage.put(key, out, content_type=files.MEDIA_TYPES[report.format])
    except AppError as exc:  # the requester may not read the list, too many rows for a PDF
        report.status = ReportStatus.failed
        report.error_code = exc.code
    else:
        report.status = ReportStatus.done
        report.row_count = rows
        report.size_bytes = size
        report.filename = name
        report.content_type = files.MEDIA_TYPES[report.format]
        report.storage_key = key
        report.expires_at = utcnow() + timedelta(days=file_days)
        audit_export(
            session,
            principal,
            kind=report.kind,
            file_format=report.format,
            filters=report.filters,
            rows=rows,
            report_id=report.id,
        )
    report.finished_at = utcnow()
    if report.schedule_id is None:  # a schedule's report goes to its recipients (deliveries)
        _notify(session, report, user)


@job("reports.generate")
async def generate_job(ctx: JobContext, report_id: str) -> None:
    """Write a queued report's file (once: a report that is not queued is left as it is)."""
    with row_scope.platform():
        report = await ctx.session.get(Report, uuid.UUID(report_id), with_for_update=True)
        if report is None or report.status is not ReportStatus.queued:
            return
        report.status = ReportStatus.running
        storage = create_storage(ctx.state.settings)
        await generate(
            ctx.session,
            storage,
            ctx.state.db.reads,
            report,
            file_days=ctx.state.settings.report_file_days,
        )
        if report.schedule_id is not None:
            token = sign_link(ctx.state.security.session_secret, report.id)
            to_email = await deliveries.finish(
                ctx.session,
                report,
                link=f"/api/v1/report-files/{token}",
                email=ctx.state.settings.notification_email,
            )
            if to_email:
                ctx.enqueue(
                    "notifications.send_emails", notification_ids=[str(i) for i in to_email]
                )


async def sweep_expired(session: AsyncSession, storage: Storage, *, now: datetime) -> int:
    """Delete the files of reports past ``expires_at`` (the report stays, without its file: its
    download answers 410 ``report_expired``); how many."""
    expired = (
        await session.execute(
            select(Report).where(
                Report.status == ReportStatus.done,
                Report.expires_at <= now,
                Report.storage_key.is_not(None),
            )
        )
    ).scalars()
    swept = 0
    for report in expired:
        assert report.storage_key is not None
        with contextlib.suppress(FileNotFoundError):
            await storage.delete(report.storage_key)
        report.storage_key = None
        swept += 1
    return swept


@job("reports.sweep", every_seconds=3600)
async def sweep_job(ctx: JobContext) -> None:
    """Delete expired report files, hourly."""
    with row_scope.platform():
        swept = await sweep_expired(ctx.session, create_storage(ctx.state.settings), now=utcnow())
    if swept:
        log.info("expired_reports_swept", deleted=swept)


# --- downloads -----------------------------------------------------------------------------------


def _signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_LINK_SALT)


def sign_link(secret: str, report_id: uuid.UUID) -> str:
    """A token naming ``report_id`` (checked with its age by ``read_link``)."""
    return str(_signer(secret).dumps(str(report_id)))


def read_link(secret: str, token: str, *, max_age: int) -> uuid.UUID:
    """The report a link names: 410 ``report_link_expired`` past ``max_age`` seconds, 403
    ``report_link_invalid`` for anything not signed by this app."""
    try:
        value = _signer(secret).loads(token, max_age=max_age)
        return uuid.UUID(str(value))
    except SignatureExpired as exc:
        raise Gone(gettext("This download link has expired."), code="report_link_expired") from exc
    except (BadSignature, ValueError) as exc:
        raise Forbidden(
            gettext("This download link is not valid."), code="report_link_invalid"
        ) from exc


def ensure_ready(report: Mapping[str, Any], *, now: datetime) -> None:
    """A report's file can be downloaded: 409 ``report_not_ready`` before it is written (or
    when it failed), 410 ``report_expired`` once swept or past its time."""
    expires = report.get("expires_at")
    if expires is not None and expires.replace(tzinfo=expires.tzinfo or now.tzinfo) <= now:
        raise Gone(gettext("The report has expired."), code="report_expired")
    if report["status"] != ReportStatus.done or not report.get("storage_key"):
        raise Conflict(gettext("The report is not ready."), code="report_not_ready")


async def report_row(runner: StatementRunner, report_id: uuid.UUID) -> dict[str, Any]:
    """A report's row, whoever asks (a signed link names it): 404 when it is gone."""
    with row_scope.platform():
        rows = await runner.all(
            select(*Report.__table__.columns).where(Report.id == report_id)  # type: ignore[attr-defined]
        )
    if not rows:
        raise NotFound(access.not_found_detail(Report))
    return dict(rows[0]._mapping)
