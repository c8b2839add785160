"""Which uploaded files are accepted: the content type sniffed from the bytes (puremagic) and
consistent with the file's extension, zip-based Office files without macros, text that is UTF-8,
executables refused."""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import IO, Any

import puremagic

from kerops.core.errors import AppError
from kerops.core.i18n import N_, gettext

#: How much of the start of a file the type sniffing looks at.
SNIFF_BYTES = 64 * 1024


class UnsupportedMediaType(AppError):
    """The uploaded file's type is not accepted (or its content and name disagree)."""

    status_code = 415
    code = "unsupported_media_type"
    title = N_("Unsupported media type")


@dataclass(frozen=True, slots=True)
class FileType:
    """A file type the service accepts."""

    media_type: str
    family: str  # image | video | document
    extensions: tuple[str, ...]
    #: How messages name it (marked for translation, translated where shown).
    label: str


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

FILE_TYPES: dict[str, FileType] = {
    t.media_type: t
    for t in (
        FileType("image/jpeg", "image", ("jpg", "jpeg", "jpe", "jfif"), N_("a JPEG image")),
        FileType("image/png", "image", ("png",), N_("a PNG image")),
        FileType("image/webp", "image", ("webp",), N_("a WebP image")),
        FileType("image/heic", "image", ("heic", "heif"), N_("a HEIC image")),
        FileType("image/gif", "image", ("gif",), N_("a GIF image")),
        FileType("video/mp4", "video", ("mp4", "m4v"), N_("an MP4 video")),
        FileType("video/quicktime", "video", ("mov", "qt"), N_("a QuickTime video")),
        FileType("video/webm", "video", ("webm",), N_("a WebM video")),
        FileType("application/pdf", "document", ("pdf",), N_("a PDF document")),
        FileType("text/plain", "document", ("txt", "text", "log"), N_("plain text")),
        FileType("text/csv", "document", ("csv",), N_("a CSV table")),
        FileType(DOCX, "document", ("docx",), N_("a Word document")),
        FileType(XLSX, "document", ("xlsx",), N_("an Excel workbook")),
        FileType(PPTX, "document", ("pptx",), N_("a PowerPoint presentation")),
    )
}
BY_EXTENSION: dict[str, FileType] = {
    ext: file_type for file_type in FILE_TYPES.values() for ext in file_type.extensions
}
IMAGE_TYPES = frozenset(t for t, ft in FILE_TYPES.items() if ft.family == "image")
TEXT_TYPES = frozenset({"text/plain", "text/csv"})
#: The part every zip-based Office file of each type must contain.
OFFICE_PARTS = {DOCX: "word/document.xml", XLSX: "xl/workbook.xml", PPTX: "ppt/presentation.xml"}
#: What puremagic names differently from the media types above.
_ALIASES = {
    "image/heif": "image/heic",
    "image/heic-sequence": "image/heic",
    "video/x-m4v": "video/mp4",
}

_EXECUTABLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"\xfe\xed\xfa\xce", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java executable"),
    (b"#!", "a script"),
    (b"\x00asm", "a WebAssembly module"),
)
_EXECUTABLE_WORDS = ("executable", "x-msdownload", "x-dosexec", "x-sharedlib", "x-mach", "x-elf")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def describe(media_types: Collection[str]) -> str:
    """The accepted types, for messages: ``jpg, png, pdf, ...``."""
    return ", ".join(FILE_TYPES[t].extensions[0] for t in FILE_TYPES if t in media_types)


def _executable(head: bytes, matches: Iterable[Any]) -> str | None:
    for magic, label in _EXECUTABLE_MAGIC:
        # "MZ" also starts ordinary text; a real executable's header is binary.
        if head.startswith(magic) and not (magic == b"MZ" and _looks_like_text(head)):
            return label
    for match in matches:
        mime = (match.mime_type or "").lower()
        if any(word in mime for word in _EXECUTABLE_WORDS):
            return "an executable"
    return None


def _magic(head: bytes, extension: str | None) -> list[Any]:
    try:
        return list(puremagic.magic_string(head, f"upload.{extension}" if extension else None))
    except (puremagic.PureError, ValueError):
        return []


def _candidates(matches: Iterable[Any]) -> set[str]:
    """The accepted types among what the bytes look like."""
    found: set[str] = set()
    for match in matches:
        mime = _ALIASES.get(match.mime_type, match.mime_type)
        if mime in FILE_TYPES:
            found.add(mime)
            continue
        by_ext = BY_EXTENSION.get((match.extension or "").lstrip(".").lower())
        if by_ext is not None and by_ext.family != "document":
            found.add(by_ext.media_type)
    return found


def text_problem(data: bytes, decoder: codecs.IncrementalDecoder, *, final: bool) -> bool:
    """Whether this piece of a text file is not UTF-8 or holds control characters."""
    try:
        text = decoder.decode(data, final=final)
    except UnicodeDecodeError:
        return True
    return _TEXT_CONTROL.search(text) is not None


def _looks_like_text(head: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    return bool(head) and not text_problem(head, decoder, final=False)


def extension_of(filename: str) -> str | None:
    """The lower-case extension of a (sanitised) file name, if it has one."""
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem and ext else None


def sniff(head: bytes, filename: str, accepted: Collection[str]) -> FileType:
    """The type of a file from its first bytes, checked against its name and ``accepted``."""
    extension = extension_of(filename)
    matches = _magic(head, extension)
    executable = _executable(head, matches)
    if executable:
        raise UnsupportedMediaType(
            gettext(
                "This file is {executable}; executables and scripts are not accepted.",
                executable=executable,
            ),
            code="executable_refused",
        )
    named = BY_EXTENSION.get(extension) if extension else None
    if extension and named is None:
        raise UnsupportedMediaType(
            gettext(
                "Files named '.{extension}' are not accepted. Accepted: {accepted}.",
                extension=extension,
                accepted=describe(accepted),
            ),
            code="unsupported_file_type",
        )
    found = _candidates(matches)
    if not found and _looks_like_text(head):
        found = {named.media_type} if named and named.media_type in TEXT_TYPES else {"text/plain"}
    if not found:
        raise UnsupportedMediaType(
            gettext(
                "The content of this file is not of an accepted type ({accepted}).",
                accepted=describe(accepted),
            ),
            code="unsupported_file_type",
        )
    if named is not None:
        if named.media_type not in found:
            seen = gettext(FILE_TYPES[sorted(found)[0]].label)
            raise UnsupportedMediaType(
                gettext(
                    "The file is named '.{extension}' but its content is {seen}.",
                    extension=extension,
                    seen=seen,
                ),
                code="file_type_mismatch",
            )
        chosen = named
    else:
        office = found & OFFICE_PARTS.keys()
        # A zip without a telling name is decided by its contents once it is read whole.
        chosen = FILE_TYPES[DOCX] if office else FILE_TYPES[sorted(found)[0]]
    office_accepted = any(t in OFFICE_PARTS for t in accepted)
    if chosen.media_type not in accepted and not (
        chosen.media_type in OFFICE_PARTS and office_accepted and named is None
    ):
        raise UnsupportedMediaType(
            gettext(
                "This file is {label}; accepted here: {accepted}.",
                label=gettext(chosen.label),
                accepted=describe(accepted),
            ),
            code="unsupported_file_type",
        )
    return chosen


def office_type(file: IO[bytes], named: bool, expected: str) -> str:
    """Check a zip-based Office file: its main part is there and it holds no macros."""
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UnsupportedMediaType(
            gettext("This file is a damaged or unknown archive, not an Office document."),
            code="unsupported_file_type",
        ) from exc
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise UnsupportedMediaType(
            gettext("Office files with macros are not accepted."), code="unsupported_file_type"
        )
    kinds = [t for t, part in OFFICE_PARTS.items() if part in names]
    if "[Content_Types].xml" not in names or not kinds:
        raise UnsupportedMediaType(
            gettext("This archive is not a Word, Excel or PowerPoint document."),
            code="unsupported_file_type",
        )
    if named and expected not in kinds:
        raise UnsupportedMediaType(
            gettext(
                "The file's name says {named} but it is {found}.",
                named=gettext(FILE_TYPES[expected].label),
                found=gettext(FILE_TYPES[kinds[0]].label),
            ),
            code="file_type_mismatch",
        )
    return expected if expected in kinds else kinds[0]
