"""The language of a page a person reads: es-CL by default, English when the browser asks.

Each page keeps its texts in one dict (``kerops.web.pages``), keyed by language, so they can move
to gettext catalogs as they are."""

from __future__ import annotations

from collections.abc import Mapping

#: The languages pages are written in; the first is the default.
LANGUAGES = ("es-CL", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]


def _ranges(header: str) -> list[tuple[float, int, str]]:
    """The language ranges of an ``Accept-Language`` header with their quality, best first (the
    order they were sent in breaks ties)."""
    ranges = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranges.append((-quality, position, tag))
    return sorted(ranges)


def negotiate(accept_language: str | None) -> str:
    """The page language for an ``Accept-Language`` header: the first range, by quality, that
    names Spanish or English; es-CL when none does."""
    for _, _, tag in _ranges(accept_language or "")[:20]:
        primary = tag.split("-", 1)[0]
        if primary == "es":
            return "es-CL"
        if primary == "en":
            return "en"
    return DEFAULT_LANGUAGE


def texts_for(catalog: Mapping[str, Mapping[str, str]], language: str) -> Mapping[str, str]:
    """The texts of one page in ``language`` (the default language's for a missing text)."""
    return {**catalog[DEFAULT_LANGUAGE], **catalog.get(language, {})}
