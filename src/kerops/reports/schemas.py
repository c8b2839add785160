"""The bodies of reports: asking for one, reading it, and its signed download link."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from kerops.core.enums import ReportStatus
from kerops.core.schemas import InputModel, ReadModel


class ReportFormat(enum.StrEnum):
    """The file a list is exported as (a report's format)."""

    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


class ReportLanguage(enum.StrEnum):
    """The language a file is written in."""

    es_cl = "es-CL"
    en = "en"


class ReportCreate(InputModel):
    """A report to make: a list (``kind``: ``tickets``, ``assets``, ``stock``,
    ``audit_logs``...), its filters (the list's query parameters, by name) and the file's
    format; its language is the request's unless given."""

    kind: Annotated[str, Field(max_length=32)]
    format: ReportFormat = ReportFormat.csv
    filters: Annotated[dict[str, Any], Field(max_length=30)] = Field(default_factory=dict)
    language: ReportLanguage | None = None


class ReportRead(ReadModel):
    """A report: what it holds, where it stands, and once written its file's size, row count
    and expiry."""

    id: uuid.UUID
    client_id: uuid.UUID
    requested_by_id: uuid.UUID | None
    kind: str
    format: str
    filters: dict[str, Any]
    language: str
    timezone: str
    status: ReportStatus
    row_count: int | None
    filename: str | None
    content_type: str | None
    size_bytes: int | None
    error_code: str | None
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReportLink(ReadModel):
    """A link that downloads a report's file without signing in, until ``expires_at``."""

    url: str
    expires_at: datetime
