"""QR codes of assets: each encodes the public scan link of its asset."""

from __future__ import annotations

import enum
import io

import segno

SCAN_PATH = "/api/v1/scan/"


class QRFormat(enum.StrEnum):
    """Image formats of an asset's QR code."""

    svg = "svg"
    png = "png"


MEDIA_TYPES = {QRFormat.svg: "image/svg+xml", QRFormat.png: "image/png"}


def scan_url(base_url: str, qr_code: str) -> str:
    """The public scan link a QR code encodes."""
    return base_url.rstrip("/") + SCAN_PATH + qr_code


def render(url: str, fmt: QRFormat) -> bytes:
    """The QR image of ``url`` (error correction M, 4 px modules, quiet zone of 4)."""
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind=fmt.value, scale=4, border=4)
    return buffer.getvalue()
