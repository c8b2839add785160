"""Photos made fit for a printed page: read from storage, turned upright, scaled down and saved
again as JPEG, so a work order with many large photos stays a small file.

A photo that cannot be shown (its stored object is missing, it is not an image Pillow reads, it
is larger than ``MAX_PIXELS``) is left out and counted, never an error: the rest of the document
still prints.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import structlog
from PIL import Image, ImageOps, UnidentifiedImageError

from kerops.core.errors import NotFound
from kerops.core.storage.backends import Storage

log = structlog.get_logger("kerops.reports")

#: The longest side a photo keeps (about 240 dpi at the 85 mm it is printed at).
MAX_SIDE = 800
#: Larger images are not decoded at all (a decompression bomb, or a panorama).
MAX_PIXELS = 60_000_000
#: Stored objects larger than this are not read (more than any accepted upload).
MAX_SOURCE_BYTES = 40 * 1024 * 1024
JPEG_QUALITY = 70


@dataclass(frozen=True, slots=True)
class PrintablePhoto:
    """A photo ready for the page: JPEG bytes and its size in pixels."""

    jpeg: bytes
    width: int
    height: int


def printable(data: bytes, *, max_side: int = MAX_SIDE) -> PrintablePhoto | None:
    """``data`` as a small upright RGB JPEG, or None when it is not an image that can be shown."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                image.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
                upright = ImageOps.exif_transpose(image)
                upright.thumbnail((max_side, max_side))
                if upright.mode != "RGB":
                    flat = Image.new("RGB", upright.size, (255, 255, 255))
                    rgba = upright.convert("RGBA")
                    flat.paste(rgba, mask=rgba.getchannel("A"))
                    upright = flat
                out = io.BytesIO()
                upright.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
                return PrintablePhoto(out.getvalue(), upright.width, upright.height)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):  # fmt: skip
        return None


async def read_stored(storage: Storage, key: str) -> bytes | None:
    """The stored object's bytes, or None when it is missing or too large to read."""
    try:
        size, chunks = await storage.open(key)
    except NotFound:
        return None
    if size > MAX_SOURCE_BYTES:
        log.warning("photo_too_large_to_print", key=key, size=size)
        return None
    parts = [chunk async for chunk in chunks]
    return b"".join(parts)
