"""Schemas of imports: the report of a run, and a template's format."""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field

from kerops.imports.columns import ImportKind


class TemplateFormat(enum.StrEnum):
    """The file type of a template."""

    xlsx = "xlsx"
    csv = "csv"


class TemplateLanguage(enum.StrEnum):
    """The language of a template's headers and notes."""

    es_cl = "es-CL"
    en = "en"


class ImportProblem(BaseModel):
    """One problem of the file: where (row as the spreadsheet numbers it, header = 1; column as
    its header reads) and what (a machine ``code`` and a message in the request's language)."""

    row: int = Field(description="The row as the spreadsheet numbers it (the header is row 1)")
    column: str | None = Field(description="The column's header, or null for the whole row")
    code: str
    message: str


class ImportReport(BaseModel):
    """What an import found (a dry run) or did (a real run)."""

    kind: ImportKind
    dry_run: bool
    rows: int = Field(description="Data rows read (empty rows are skipped)")
    created: int = Field(description="Rows created (a dry run: that would be created)")
    errors: list[ImportProblem]
