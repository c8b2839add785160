"""Where uploaded files are stored: one interface over two backends, both through obstore (the
Python binding of the Rust ``object_store`` crate): a folder on this machine
(``settings.files_dir``, by default ``data_dir/files``) or an S3-compatible bucket. Keys are always
chosen by the server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import IO, Annotated, Any

import obstore
import structlog
from fastapi import Depends, Request
from obstore.store import LocalStore, S3Store

from kerops.config import Settings
from kerops.core.errors import NotFound
from kerops.core.i18n import gettext

log = structlog.get_logger("kerops.storage")


class StorageObjectMissing(NotFound):
    """A stored file is gone although its record exists."""

    code = "file_missing"


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
            raise StorageObjectMissing(gettext("The file's content is not available.")) from exc

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in result.stream(min_chunk_size=256 * 1024):
                yield bytes(chunk)

        return int(result.meta["size"]), chunks()

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
