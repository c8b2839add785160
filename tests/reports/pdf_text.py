"""Reading back what an fpdf2 document says, without a PDF library.

The documents are set in the core fonts (Helvetica), whose text is written in the content
streams as PDF literal strings of Latin-1 bytes shown by ``Tj``. So the text of a document is:
each FlateDecode stream inflated (image streams, DCT-encoded, are not inflated and hold no
text), then the literal strings shown in each text object (``BT`` ... ``ET``) unescaped
(``\\(``, ``\\)``, ``\\\\`` and octal escapes) and joined, in the order they are drawn. That is
enough for fpdf2's own output, which is all it is used for.
"""

from __future__ import annotations

import re
import zlib

#: The start of a stream whose length its dictionary gives (fpdf2 writes ``/Length`` last).
STREAM = re.compile(rb"/Length (\d+)[^>]*>>\s*stream\r?\n")
#: A string shown by ``Tj`` (taken whole, so that a string holding "ET" ends nothing), or the
#: end of a text object.
TOKEN = re.compile(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj|(?<![\w)])ET(?!\w)", re.DOTALL)
ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
NAMED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> str:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return NAMED.get(code, code)

    return ESCAPE.sub(one, raw).decode("latin-1")


def content_streams(pdf: bytes) -> list[bytes]:
    """The document's streams that hold drawing operators (inflated where compressed)."""
    found = []
    for match in STREAM.finditer(pdf):
        body = pdf[match.end() : match.end() + int(match.group(1))]
        try:
            found.append(zlib.decompress(body))
        except zlib.error:
            if b"Tj" in body or b" re" in body:
                found.append(body)
    return found


def pdf_text(pdf: bytes) -> str:
    """What the document shows, a line per text object (``BT`` ... ``ET``: fpdf2 writes one
    per cell), in drawing order."""
    lines = []
    for stream in content_streams(pdf):
        shown: list[str] = []
        for token in TOKEN.finditer(stream):
            if token.group(1) is not None:
                shown.append(_unescape(token.group(1)))
            elif shown:
                lines.append("".join(shown))
                shown = []
        if shown:
            lines.append("".join(shown))
    return "\n".join(lines)


def page_count(pdf: bytes) -> int:
    """How many pages the document has."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
