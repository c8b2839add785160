"""Translations: es-CL first, English available (Babel and gettext catalogs).

Texts are written in English in the code; the English text is the message id. They are
translated where the reader's language is known: a request's language is chosen once
(:func:`choose`) and kept in a context variable, so :func:`gettext` called anywhere in the
request answers in it; e-mails and notifications pass the recipient's language explicitly.

The catalogs are the ``.po`` files under ``src/kerops/locale/<language>/LC_MESSAGES/``: one per
area of the product (``errors.po``, ``messages.po``, ``pages.po``...), all merged into one
translation per language when first used. No compiled ``.mo`` file is kept in the repository:
the ``.po`` files are read and compiled in memory. ``tests/core/test_catalogs.py`` fails when a
text marked in the code lacks a translation in either language, or when a catalog keeps an entry
no code uses any more (docs/i18n.md has the workflow).

Marking texts:

- ``gettext("Ticket not found")`` translates now (``_`` is the same function);
- ``gettext("Ticket {number} is closed", number=n)`` fills named placeholders after translating,
  so the translation may move them;
- ``N_("Open")`` only marks a text for the catalogs and returns it unchanged, for texts kept in
  tables and translated later.
"""

from __future__ import annotations

import io
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

#: The languages the product is written in; the first is the default.
LANGUAGES = ("es-CL", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]
#: The folder of each language's catalogs (gettext's locale names use an underscore).
CATALOG_DIRS = {"es-CL": "es_CL", "en": "en"}
LOCALE_ROOT = Path(__file__).resolve().parent.parent / "locale"

_language: ContextVar[str] = ContextVar("kerops_language", default=DEFAULT_LANGUAGE)
#: The caller's client and its default language, as the request's principal carries them, so
#: a text stored in that client's language costs no query to choose.
_client_language: ContextVar[tuple[object, str] | None] = ContextVar(
    "kerops_client_language", default=None
)


def _ranges(header: str) -> list[tuple[float, int, str]]:
    """The language ranges of an ``Accept-Language`` header with their quality, best first (the
    order they were sent in breaks ties)."""
    ranges = []
    for position, part in enumerate(header.split(",")[:20]):
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


def supported(tag: str | None) -> str | None:
    """The product language a language tag names (``es``, ``es-CL``, ``es-AR`` → es-CL; ``en``,
    ``en-GB`` → en), or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary == "es":
        return "es-CL"
    if primary == "en":
        return "en"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The language an ``Accept-Language`` header asks for: the first range, by quality, that
    names Spanish or English; None when none does."""
    for _, _, tag in _ranges(accept_language or ""):
        language = supported(tag)
        if language:
            return language
    return None


def choose(
    user_language: str | None = None,
    accept_language: str | None = None,
    client_language: str | None = None,
) -> str:
    """The language to answer in: the user's own, else the browser's, else the client's
    default, else es-CL."""
    return (
        supported(user_language)
        or negotiate(accept_language)
        or supported(client_language)
        or DEFAULT_LANGUAGE
    )


def current_language() -> str:
    """The language of the request (or job) being served."""
    return _language.get()


def set_language(language: str) -> Token[str]:
    """Answer in ``language`` from now on in this context; returns the token to reset it."""
    return _language.set(supported(language) or DEFAULT_LANGUAGE)


def reset_language(token: Token[str]) -> None:
    _language.reset(token)


def remember_client_language(client_id: object, language: str | None) -> None:
    """Keep the caller's client's default language for this request (None: forget it)."""
    value = (client_id, supported(language) or DEFAULT_LANGUAGE) if client_id else None
    if _client_language.get() != value:
        _client_language.set(value)


def known_client_language(client_id: object) -> str | None:
    """The default language of ``client_id`` if this request already knows it."""
    known = _client_language.get()
    return known[1] if known is not None and known[0] == client_id else None


def catalog_files(language: str) -> list[Path]:
    """The ``.po`` files of one language, in a stable order."""
    folder = LOCALE_ROOT / CATALOG_DIRS[language] / "LC_MESSAGES"
    return sorted(folder.glob("*.po")) if folder.is_dir() else []


@cache
def translations(language: str) -> NullTranslations:
    """All catalogs of ``language`` merged into one, compiled in memory once."""
    merged: NullTranslations | None = None
    for path in catalog_files(language):
        with path.open("rb") as source:
            catalog = read_po(source, locale=CATALOG_DIRS[language])
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        part = Translations(fp=compiled, domain=path.stem)
        if merged is None:
            merged = part
        else:
            assert isinstance(merged, Translations)
            merged.merge(part)
    return merged or NullTranslations()


def _fill(text: str, params: dict[str, Any]) -> str:
    return text.format(**params) if params else text


def gettext(message: str, language: str | None = None, /, **params: Any) -> str:
    """``message`` in ``language`` (the current one by default), with ``params`` filled in."""
    translated = translations(supported(language) or current_language()).gettext(message)
    return _fill(translated, params)


def ngettext(
    singular: str, plural: str, n: int, language: str | None = None, /, **params: Any
) -> str:
    """The singular or plural form for ``n``, translated; ``n`` is also a placeholder."""
    translated = translations(supported(language) or current_language()).ngettext(
        singular, plural, n
    )
    return _fill(translated, {"n": n, **params})


#: The usual short name.
_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it (it is translated later)."""
    return message
