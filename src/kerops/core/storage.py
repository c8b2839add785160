"""Uploaded files: where they are stored, how a request writes them, and which ones are accepted.

One interface over two backends, both through obstore (the Python binding of the Rust
``object_store`` crate): a folder on this machine (``settings.files_dir``, by default
``data_dir/files``) or an S3-compatible bucket. Keys are always chosen by the server.

A request writes objects through :class:`ObjectWrites`: a new object is written *before* its
database row, and deleted again if the request fails (the transaction rolled back), so no row
ever points at a missing object; an object whose row goes away is deleted only *after* the
transaction committed. The worst case of a crash in between is an orphan object, never a
dangling row. Uploads are checked by :func:`receive_upload`: bounded size, content type sniffed
from the bytes (puremagic) and consistent with the file's extension, executables refused.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Annotated, Any
from urllib.parse import quote

import anyio
import obstore
import puremagic
import structlog
from fastapi import Depends, Request, Response, UploadFile
from fastapi.routing import APIRoute
from obstore.store import LocalStore, S3Store
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message, Receive

from kerops.config import Settings
from kerops.core.errors import (
    AppError,
    BodyTooLarge,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    field_error,
)
from kerops.core.jobs import JobContext, job
from kerops.core.types import utcnow

log = structlog.get_logger("kerops.storage")

CHUNK_SIZE = 1024 * 1024
#: Room for the multipart framing and the small form fields next to the file itself.
MULTIPART_OVERHEAD = 64 * 1024
#: How much of the start of a file the type sniffing looks at.
SNIFF_BYTES = 64 * 1024
MAX_FILENAME = 255


class UnsupportedMediaType(AppError):
    """The uploaded file's type is not accepted (or its content and name disagree)."""

    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class StorageObjectMissing(NotFound):
    """A stored file is gone although its record exists."""

    code = "file_missing"


# --- the store -----------------------------------------------------------------------------------


class Storage:
    """An object store holding uploaded files under server-chosen keys."""

    def __init__(self, store: Any, *, attributes: bool) -> None:
        self.store = store
        # Object attributes (Content-Type) are kept by S3; the local backend has no place for them.
        self._attributes = attributes

    async def put(self, key: str, source: IO[bytes], *, content_type: str) -> None:
        """Write an object atomically (readers never see a partial object)."""
        attributes: Any = {"Content-Type": content_type} if self._attributes else None
        await obstore.put_async(self.store, key, source, attributes=attributes)

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None:
        """Write a small object from memory (demo data, tests)."""
        attributes: Any = {"Content-Type": content_type} if self._attributes else None
        await obstore.put_async(self.store, key, data, attributes=attributes)

    async def open(self, key: str) -> tuple[int, AsyncIterator[bytes]]:
        """The object's size and a stream of its bytes; 404 if it is missing."""
        try:
            result = await obstore.get_async(self.store, key)
        except FileNotFoundError as exc:
            log.warning("stored_file_missing", key=key)
            raise StorageObjectMissing("The file's content is not available.") from exc

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in result.stream(min_chunk_size=256 * 1024):
                yield bytes(chunk)

        return int(result.meta["size"]), chunks()

    async def read(self, key: str) -> bytes:
        """The whole object (small objects and tests only)."""
        _, chunks = await self.open(key)
        return b"".join([chunk async for chunk in chunks])

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        try:
            await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        return True

    async def delete(self, key: str) -> None:
        """Delete an object; a missing one is not an error."""
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.store, key)


def create_storage(settings: Settings) -> Storage:
    """The configured backend: ``local`` (``settings.files_dir``) or ``s3``."""
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise ValueError("KEROPS_S3_BUCKET is required when KEROPS_STORAGE_BACKEND=s3")
        options: dict[str, Any] = {"region": settings.s3_region}
        if settings.s3_endpoint_url:
            options["endpoint"] = settings.s3_endpoint_url
        if settings.s3_access_key_id and settings.s3_secret_access_key:
            options["access_key_id"] = settings.s3_access_key_id
            options["secret_access_key"] = settings.s3_secret_access_key
        if settings.s3_prefix:
            options["prefix"] = settings.s3_prefix.strip("/")
        store = S3Store(
            settings.s3_bucket,
            client_options={"allow_http": settings.s3_allow_http},
            **options,
        )
        return Storage(store, attributes=True)
    folder = settings.files_dir
    folder.mkdir(parents=True, exist_ok=True)
    return Storage(LocalStore(prefix=folder.resolve(), mkdir=True), attributes=False)


def storage_of(state_holder: Any) -> Storage:
    """The app's storage (made once per app and kept on ``app.state``)."""
    storage: Storage | None = getattr(state_holder, "kerops_storage", None)
    if storage is None:
        storage = create_storage(state_holder.kerops.settings)
        state_holder.kerops_storage = storage
    return storage


async def get_storage(request: Request) -> Storage:
    """The app's storage."""
    return storage_of(request.app.state)


StorageDep = Annotated[Storage, Depends(get_storage)]


# --- writes that follow the request's transaction ------------------------------------------------


class ObjectWrites:
    """The objects one request writes and releases, settled with its transaction."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._written: list[str] = []
        self._released: list[str] = []

    async def put(self, key: str, source: IO[bytes], *, content_type: str) -> None:
        """Write a new object now; it is deleted again if the request fails."""
        await self.storage.put(key, source, content_type=content_type)
        self._written.append(key)

    def release(self, key: str) -> None:
        """Delete an object once the request's transaction has committed."""
        self._released.append(key)

    async def undo(self) -> None:
        """The request failed: remove what it wrote (best effort)."""
        await self._delete_all(self._written)

    async def finish(self) -> None:
        """The request succeeded: remove what it released (best effort)."""
        await self._delete_all(self._released)

    async def _delete_all(self, keys: Iterable[str]) -> None:
        for key in keys:
            try:
                await self.storage.delete(key)
            except Exception:  # an orphan object is harmless; the answer stands
                log.warning("stored_file_not_deleted", key=key, exc_info=True)


async def object_writes(request: Request) -> AsyncIterator[ObjectWrites]:
    """A request's object writes. This dependency has the request scope: it is settled after the
    session dependency (function scope) committed or rolled back, and sees its failure."""
    writes = ObjectWrites(storage_of(request.app.state))
    try:
        yield writes
    except BaseException:
        await writes.undo()
        raise
    await writes.finish()


ObjectWritesDep = Annotated[ObjectWrites, Depends(object_writes)]


# --- bounded request bodies ----------------------------------------------------------------------


def too_large(max_bytes: int) -> PayloadTooLarge:
    """The 413 of an upload over the limit."""
    return PayloadTooLarge(
        f"The file is larger than the limit of {max_bytes} bytes.",
        code="file_too_large",
        max_bytes=max_bytes,
    )


def _limited(receive: Receive, limit: int, max_bytes: int) -> Receive:
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(too_large(max_bytes))
        return message

    return limited_receive


class UploadRoute(APIRoute):
    """A route taking a file: its body is read only up to the upload limit (then 413).

    The multipart parser spools files to temporary files (at most 1 MiB in memory); this route
    stops reading the body as soon as it exceeds ``attachment_max_bytes`` plus the framing, and
    refuses a declared ``Content-Length`` over that before reading anything. The app's body
    limit (``KEROPS_MAX_BODY_BYTES``) leaves these routes to this one.
    """

    bounds_own_body = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            max_bytes: int = request.app.state.kerops.settings.attachment_max_bytes
            limit = max_bytes + MULTIPART_OVERHEAD
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise too_large(max_bytes)
            return await handler(
                Request(request.scope, _limited(request.receive, limit, max_bytes))
            )

        return bounded


# --- accepted file types -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileType:
    """A file type the service accepts."""

    media_type: str
    family: str  # image | video | document
    extensions: tuple[str, ...]
    label: str


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

FILE_TYPES: dict[str, FileType] = {
    t.media_type: t
    for t in (
        FileType("image/jpeg", "image", ("jpg", "jpeg", "jpe", "jfif"), "a JPEG image"),
        FileType("image/png", "image", ("png",), "a PNG image"),
        FileType("image/webp", "image", ("webp",), "a WebP image"),
        FileType("image/heic", "image", ("heic", "heif"), "a HEIC image"),
        FileType("image/gif", "image", ("gif",), "a GIF image"),
        FileType("video/mp4", "video", ("mp4", "m4v"), "an MP4 video"),
        FileType("video/quicktime", "video", ("mov", "qt"), "a QuickTime video"),
        FileType("video/webm", "video", ("webm",), "a WebM video"),
        FileType("application/pdf", "document", ("pdf",), "a PDF document"),
        FileType("text/plain", "document", ("txt", "text", "log"), "plain text"),
        FileType("text/csv", "document", ("csv",), "a CSV table"),
        FileType(DOCX, "document", ("docx",), "a Word document"),
        FileType(XLSX, "document", ("xlsx",), "an Excel workbook"),
        FileType(PPTX, "document", ("pptx",), "a PowerPoint presentation"),
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


def _text_problem(data: bytes, decoder: codecs.IncrementalDecoder, *, final: bool) -> bool:
    try:
        text = decoder.decode(data, final=final)
    except UnicodeDecodeError:
        return True
    return _TEXT_CONTROL.search(text) is not None


def _looks_like_text(head: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    return bool(head) and not _text_problem(head, decoder, final=False)


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
            f"This file is {executable}; executables and scripts are not accepted.",
            code="executable_refused",
        )
    named = BY_EXTENSION.get(extension) if extension else None
    if extension and named is None:
        raise UnsupportedMediaType(
            f"Files named '.{extension}' are not accepted. Accepted: {describe(accepted)}.",
            code="unsupported_file_type",
        )
    found = _candidates(matches)
    if not found and _looks_like_text(head):
        found = {named.media_type} if named and named.media_type in TEXT_TYPES else {"text/plain"}
    if not found:
        raise UnsupportedMediaType(
            f"The content of this file is not of an accepted type ({describe(accepted)}).",
            code="unsupported_file_type",
        )
    if named is not None:
        if named.media_type not in found:
            seen = FILE_TYPES[sorted(found)[0]].label
            raise UnsupportedMediaType(
                f"The file is named '.{extension}' but its content is {seen}.",
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
            f"This file is {chosen.label}; accepted here: {describe(accepted)}.",
            code="unsupported_file_type",
        )
    return chosen


def _office_type(file: IO[bytes], named: bool, expected: str) -> str:
    """Check a zip-based Office file: its main part is there and it holds no macros."""
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UnsupportedMediaType(
            "This file is a damaged or unknown archive, not an Office document.",
            code="unsupported_file_type",
        ) from exc
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise UnsupportedMediaType(
            "Office files with macros are not accepted.", code="unsupported_file_type"
        )
    kinds = [t for t, part in OFFICE_PARTS.items() if part in names]
    if "[Content_Types].xml" not in names or not kinds:
        raise UnsupportedMediaType(
            "This archive is not a Word, Excel or PowerPoint document.",
            code="unsupported_file_type",
        )
    if named and expected not in kinds:
        raise UnsupportedMediaType(
            f"The file's name says {FILE_TYPES[expected].label} but it is "
            f"{FILE_TYPES[kinds[0]].label}.",
            code="file_type_mismatch",
        )
    return expected if expected in kinds else kinds[0]


# --- receiving an upload -------------------------------------------------------------------------


def safe_filename(name: str | None, fallback: str = "file") -> str:
    """A client's file name made harmless: no folders, no control characters, 255 at most."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch.isspace() else ch for ch in name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    name = re.sub(r" +", " ", name).strip(" .")
    if not name:
        return fallback
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            name = stem[: MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266)."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_headers(filename: str, size: int, sha256: str | None = None) -> dict[str, str]:
    """Headers of every file download: a download (not inline), never sniffed, not cached."""
    headers = {
        "Content-Disposition": content_disposition(filename),
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox; frame-ancestors 'none'",
        "Cache-Control": "private, no-store",
    }
    if sha256:
        headers["ETag"] = f'"{sha256}"'
    return headers


@dataclass
class ReceivedFile:
    """An upload that passed every check, spooled in a temporary file ready to be stored."""

    file: IO[bytes]
    filename: str
    file_type: FileType
    size_bytes: int
    sha256: str

    @property
    def media_type(self) -> str:
        """The sniffed media type."""
        return self.file_type.media_type

    def close(self) -> None:
        """Remove the temporary copy."""
        self.file.close()


async def receive_upload(
    upload: UploadFile,
    *,
    max_bytes: int,
    accepted: Collection[str],
    field: str = "file",
) -> ReceivedFile:
    """Copy an upload to a temporary file in chunks, refusing it once it passes ``max_bytes``
    (413), when it is empty (422), or when its bytes are not of an ``accepted`` type that agrees
    with its name (415). Nothing is stored yet."""
    filename = safe_filename(upload.filename)
    spool = tempfile.SpooledTemporaryFile(max_size=CHUNK_SIZE)  # noqa: SIM115 (returned open)
    try:
        digest = hashlib.sha256()
        size = 0
        head = b""
        file_type: FileType | None = None
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        while True:
            chunk = await upload.read(CHUNK_SIZE)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            digest.update(chunk)
            await anyio.to_thread.run_sync(spool.write, chunk)
            if file_type is None:
                head += chunk
                if len(head) < SNIFF_BYTES:
                    continue
                file_type = sniff(head[:SNIFF_BYTES], filename, accepted)
                chunk = head
            if file_type.media_type in TEXT_TYPES and _text_problem(chunk, decoder, final=False):
                raise _not_text(file_type)
        if size == 0:
            raise Unprocessable(
                "The file is empty.",
                errors=[field_error(("body", field), "the file is empty", "file_empty")],
            )
        if file_type is None:
            file_type = sniff(head, filename, accepted)
            if file_type.media_type in TEXT_TYPES and _text_problem(head, decoder, final=False):
                raise _not_text(file_type)
        if file_type.media_type in TEXT_TYPES and _text_problem(b"", decoder, final=True):
            raise _not_text(file_type)
        if file_type.media_type in OFFICE_PARTS:
            named = extension_of(filename) is not None
            office = await anyio.to_thread.run_sync(
                _office_type, spool, named, file_type.media_type
            )
            file_type = FILE_TYPES[office]
            if office not in accepted:
                raise UnsupportedMediaType(
                    f"This file is {file_type.label}; accepted here: {describe(accepted)}.",
                    code="unsupported_file_type",
                )
        spool.seek(0)
        return ReceivedFile(
            file=spool,
            filename=filename,
            file_type=file_type,
            size_bytes=size,
            sha256=digest.hexdigest(),
        )
    except BaseException:
        spool.close()
        raise


def _not_text(file_type: FileType) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"The file is named as {file_type.label} but is not UTF-8 text.",
        code="file_type_mismatch",
    )


# --- orphan objects ------------------------------------------------------------------------------

#: The columns holding storage keys, by the kind a key names (its second segment:
#: ``{owner}/{kind}/{record}/{name}``); each module storing files registers its own.
STORED_FILES: dict[str, Any] = {}
#: Objects younger than this are never swept (an upload writes its object before its row).
SWEEP_GRACE = timedelta(hours=1)
#: Keys checked against the database per query.
SWEEP_BATCH = 500
_SWEPT_KEY = re.compile(r"^[0-9a-f-]{36}/([a-z_]+)/[0-9a-f-]{36}/[^/]+$")


def stored_files(kind: str, column: Any) -> None:
    """Declare that ``column`` holds the keys of the objects of ``kind`` (see ``sweep``)."""
    STORED_FILES[kind] = column


async def sweep_orphans(
    storage: Storage, session: AsyncSession, *, older_than: timedelta = SWEEP_GRACE
) -> int:
    """Delete the stored objects no row holds any more (left by database cascades, a crash
    between a row's delete and its object's, or a failed best-effort delete); how many.

    Only objects the app names (``{owner}/{kind}/{record}/{name}`` with a registered kind) and
    older than ``older_than`` are considered: anything else in the bucket or folder is left."""
    cutoff = utcnow() - older_than
    deleted = 0
    pending: dict[str, list[str]] = {}

    async def settle(kind: str) -> None:
        nonlocal deleted
        keys = pending.pop(kind, [])
        column = STORED_FILES[kind]
        held = set((await session.execute(select(column).where(column.in_(keys)))).scalars())
        for key in keys:
            if key not in held:
                await storage.delete(key)
                deleted += 1
                log.info("orphan_file_deleted", key=key)

    async for batch in obstore.list(storage.store, chunk_size=SWEEP_BATCH):
        for meta in batch:
            key = str(meta["path"])
            match = _SWEPT_KEY.match(key)
            if match is None or match.group(1) not in STORED_FILES:
                continue
            if meta["last_modified"] >= cutoff:
                continue
            kind = match.group(1)
            pending.setdefault(kind, []).append(key)
            if len(pending[kind]) >= SWEEP_BATCH:
                await settle(kind)
    for kind in list(pending):
        await settle(kind)
    return deleted


@job("storage.sweep", every_seconds=3600)
async def sweep(ctx: JobContext, older_than_seconds: int | None = None) -> None:
    """Delete orphan stored objects (see ``sweep_orphans``), hourly."""
    grace = SWEEP_GRACE if older_than_seconds is None else timedelta(seconds=older_than_seconds)
    deleted = await sweep_orphans(create_storage(ctx.state.settings), ctx.session, older_than=grace)
    if deleted:
        log.info("orphan_files_swept", deleted=deleted)
