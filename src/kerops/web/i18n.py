"""The language of a page a person reads: es-CL by default, English when the browser asks.

Each page keeps its texts in one dict (``kerops.web.pages``), keyed by language, so they can move
to gettext catalogs as they are."""

from __future__ import annotations

from collections.abc import Mapping

from kerops.core import i18n

#: The languages pages are written in; the first is the default.
LANGUAGES = i18n.LANGUAGES
DEFAULT_LANGUAGE = i18n.DEFAULT_LANGUAGE


def negotiate(accept_language: str | None) -> str:
    """The page language for an ``Accept-Language`` header (es-CL when it names neither)."""
    return i18n.negotiate(accept_language) or DEFAULT_LANGUAGE


def texts_for(catalog: Mapping[str, Mapping[str, str]], language: str) -> Mapping[str, str]:
    """The texts of one page in ``language`` (the default language's for a missing text)."""
    return {**catalog[DEFAULT_LANGUAGE], **catalog.get(language, {})}
