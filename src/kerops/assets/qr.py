"""QR codes of assets: each encodes the public scan page of its asset (``/scan/{code}``, a page
for a phone's browser; the JSON scan API at ``/api/v1/scan/{code}`` sends a browser there)."""

from __future__ import annotations

import enum
import io

import segno

#: The scan page's path (kerops.web.scan_pages); older labels encode the API's path,
#: ``/api/v1/scan/``, which sends a browser on to this one.
SCAN_PATH = "/scan/"


class QRFormat(enum.StrEnum):
    """Image formats of an asset's QR code."""

    svg = "svg"
    png = "png"


MEDIA_TYPES = {QRFormat.svg: "image/svg+xml", QRFormat.png: "image/png"}


def scan_url(base_url: str, qr_code: str) -> str:
    """The public scan page a QR code encodes (``base_url``: ``KEROPS_PUBLIC_URL``)."""
    return base_url.rstrip("/") + SCAN_PATH + qr_code


def render(url: str, fmt: QRFormat) -> bytes:
    """The QR image of ``url`` (error correction M, 4 px modules, quiet zone of 4)."""
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind=fmt.value, scale=4, border=4)
    return buffer.getvalue()
