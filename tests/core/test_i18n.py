"""Choosing the reader's language and translating through the gettext catalogs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kerops.core import i18n

PO_ES = r"""
msgid ""
msgstr ""
"Language: es_CL\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"
"Content-Type: text/plain; charset=utf-8\n"

msgid "Ticket {number} is closed"
msgstr "El ticket {number} está cerrado"

msgid "{n} open ticket"
msgid_plural "{n} open tickets"
msgstr[0] "{n} ticket abierto"
msgstr[1] "{n} tickets abiertos"
"""


@pytest.fixture
def catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    folder = tmp_path / "es_CL" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "errors.po").write_text(PO_ES, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_ROOT", tmp_path)
    i18n.translations.cache_clear()
    yield
    i18n.translations.cache_clear()


@pytest.mark.parametrize(
    ("user", "header", "client", "expected"),
    [
        (None, None, None, "es-CL"),
        ("en", "es-CL", "es-CL", "en"),
        ("es-CL", "en", None, "es-CL"),
        (None, "fr-FR, en-GB;q=0.8, es;q=0.5", None, "en"),
        (None, "es-AR;q=0.3, en;q=0.2", "en", "es-CL"),
        (None, "de, fr", "en", "en"),
        (None, "en;q=0", "en", "en"),
        (None, "de", None, "es-CL"),
        ("pt-BR", "garbage;;q=x", None, "es-CL"),
    ],
)
def test_the_language_is_the_users_then_the_browsers_then_the_clients(
    user: str | None, header: str | None, client: str | None, expected: str
) -> None:
    assert i18n.choose(user, header, client) == expected


def test_texts_are_translated_with_their_placeholders(catalogs: None) -> None:
    assert i18n.gettext("Ticket {number} is closed", "es-CL", number="T-000011") == (
        "El ticket T-000011 está cerrado"
    )
    assert i18n.gettext("Ticket {number} is closed", "en", number="T-000011") == (
        "Ticket T-000011 is closed"
    )
    assert i18n.ngettext("{n} open ticket", "{n} open tickets", 1, "es-CL") == "1 ticket abierto"
    assert i18n.ngettext("{n} open ticket", "{n} open tickets", 4, "es-CL") == "4 tickets abiertos"
    assert i18n.ngettext("{n} open ticket", "{n} open tickets", 4, "en") == "4 open tickets"


def test_the_current_language_follows_the_context(catalogs: None) -> None:
    assert i18n.current_language() == "es-CL"
    token = i18n.set_language("en-US")
    try:
        assert i18n.current_language() == "en"
        assert i18n.gettext("Ticket {number} is closed", number=1) == "Ticket 1 is closed"
    finally:
        i18n.reset_language(token)
    assert i18n.gettext("Ticket {number} is closed", number=1) == "El ticket 1 está cerrado"


def test_an_unknown_text_is_answered_as_written(catalogs: None) -> None:
    assert i18n.gettext("Not in any catalog") == "Not in any catalog"
    assert i18n.N_("Marked only") == "Marked only"
