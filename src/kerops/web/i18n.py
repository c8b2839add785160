"""The language of a page a person reads: es-CL by default, English when the browser asks.

The pages' texts are in the ``pages`` gettext catalog (docs/i18n.md), marked in their templates
with ``{{ _("...") }}``."""

from __future__ import annotations

from kerops.core import i18n

#: The languages pages are written in; the first is the default.
LANGUAGES = i18n.LANGUAGES
DEFAULT_LANGUAGE = i18n.DEFAULT_LANGUAGE


def negotiate(accept_language: str | None) -> str:
    """The page language for an ``Accept-Language`` header (es-CL when it names neither)."""
    return i18n.negotiate(accept_language) or DEFAULT_LANGUAGE
