"""How a request receives and writes files.

A request writes objects through :class:`ObjectWrites`: a new object is written *before* its
database row, and deleted again if the request fails (the transaction rolled back), so no row
ever points at a missing object; an object whose row goes away is deleted only *after* the
transaction committed. The worst case of a crash in between is an orphan object, never a
dangling row. Uploads are checked by :func:`receive_upload`: bounded size, content type sniffed
from the bytes and consistent with the file's extension, executables refused
(:mod:`kerops.core.storage.sniffing`); a route taking a file is an :class:`UploadRoute`, whose
body is read only up to the upload limit.
"""

from __future__ import annotations

import codecs
import hashlib
import tempfile
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Iterable
from dataclasses import dataclass
from typing import IO, Annotated, Any

import anyio
import structlog
from fastapi import Depends, Request, Response, UploadFile
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from kerops.core.errors import BodyTooLarge, PayloadTooLarge, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.storage.backends import Storage, storage_of
from kerops.core.storage.downloads import safe_filename
from kerops.core.storage.sniffing import (
    FILE_TYPES,
    OFFICE_PARTS,
    SNIFF_BYTES,
    TEXT_TYPES,
    FileType,
    UnsupportedMediaType,
    describe,
    extension_of,
    office_type,
    sniff,
    text_problem,
)

log = structlog.get_logger("kerops.storage")

CHUNK_SIZE = 1024 * 1024
#: Room for the multipart framing and the small form fields next to the file itself.
MULTIPART_OVERHEAD = 64 * 1024


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
        gettext("The file is larger than the limit of {max_bytes} bytes.", max_bytes=max_bytes),
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
    #: The setting holding the largest accepted file (a subclass may name another).
    limit_setting = "attachment_max_bytes"

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        setting = self.limit_setting

        async def bounded(request: Request) -> Response:
            max_bytes: int = getattr(request.app.state.kerops.settings, setting)
            limit = max_bytes + MULTIPART_OVERHEAD
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise too_large(max_bytes)
            return await handler(
                Request(request.scope, _limited(request.receive, limit, max_bytes))
            )

        return bounded


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
            if file_type.media_type in TEXT_TYPES and text_problem(chunk, decoder, final=False):
                raise _not_text(file_type)
        if size == 0:
            raise Unprocessable(
                gettext("The file is empty."),
                errors=[field_error(("body", field), gettext("the file is empty"), "file_empty")],
            )
        if file_type is None:
            file_type = sniff(head, filename, accepted)
            if file_type.media_type in TEXT_TYPES and text_problem(head, decoder, final=False):
                raise _not_text(file_type)
        if file_type.media_type in TEXT_TYPES and text_problem(b"", decoder, final=True):
            raise _not_text(file_type)
        if file_type.media_type in OFFICE_PARTS:
            named = extension_of(filename) is not None
            office = await anyio.to_thread.run_sync(office_type, spool, named, file_type.media_type)
            file_type = FILE_TYPES[office]
            if office not in accepted:
                raise UnsupportedMediaType(
                    gettext(
                        "This file is {label}; accepted here: {accepted}.",
                        label=gettext(file_type.label),
                        accepted=describe(accepted),
                    ),
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
        gettext(
            "The file is named as {label} but is not UTF-8 text.", label=gettext(file_type.label)
        ),
        code="file_type_mismatch",
    )
