"""Keeping the translation catalogs in step with the code (docs/i18n.md).

``python -m kerops.core.catalogs check`` lists the texts that lack a translation and the
catalog entries no code uses; ``python -m kerops.core.catalogs update NAME`` adds every text
that is in no catalog yet to ``NAME.po`` of both languages (with the English text as the English
translation and an empty Spanish one to fill in) and drops entries no code uses from every
catalog. ``tests/core/test_catalogs.py`` runs the check.

Texts are found as Babel finds them: literal arguments of ``gettext``, ``_``, ``N_`` and
``ngettext`` in the package's Python files and of ``_``/``gettext``/``ngettext`` in its Jinja
templates.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from kerops.core.i18n import CATALOG_DIRS, LANGUAGES, LOCALE_ROOT, catalog_files

PACKAGE_ROOT = LOCALE_ROOT.parent
METHOD_MAP = [
    ("**/templates/**.html", "jinja2"),
    ("**.py", "python"),
]
#: Catalog headers carry this date, so updating a catalog changes only its entries.
STABLE_DATE = datetime(2026, 1, 1, tzinfo=UTC)
KEYWORDS = {"gettext": None, "_": None, "N_": None, "ngettext": (1, 2)}


def _messages() -> Iterator[tuple[str | tuple[str, ...], str]]:
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        PACKAGE_ROOT, METHOD_MAP, keywords=KEYWORDS, comment_tags=()
    ):
        if filename.endswith("core/catalogs.py"):
            continue
        yield message, filename


def marked_texts() -> dict[str, str]:
    """Every text marked in the code (singular forms; plurals keyed by their singular), with
    the first file it was found in."""
    found: dict[str, str] = {}
    for message, filename in _messages():
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, filename)
    return found


def plural_of() -> dict[str, str]:
    return {message[0]: message[1] for message, _ in _messages() if isinstance(message, tuple)}


def _msgid(message: Message) -> str:
    """A catalog entry's text (its singular form for a plural entry)."""
    raw = message.id
    return str(raw if isinstance(raw, str) else raw[0]) if raw else ""


def _translations(message: Message) -> list[str]:
    raw = message.string
    if isinstance(raw, str) or raw is None:
        return [raw or ""]
    return [str(text) for text in raw]


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=CATALOG_DIRS[language])


@dataclass
class Report:
    #: (language, text) pairs marked in the code and translated in no catalog.
    missing: list[tuple[str, str]] = field(default_factory=list)
    #: (catalog file, text) pairs no code uses any more.
    stale: list[tuple[str, str]] = field(default_factory=list)
    #: (language, text) pairs translated in more than one catalog of the language.
    duplicated: list[tuple[str, str]] = field(default_factory=list)
    #: (catalog file, text) pairs whose translation drops or invents a ``{placeholder}``.
    placeholders: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.duplicated or self.placeholders)


def _fields(text: str) -> set[str]:
    import string

    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<unbalanced braces>"}


def check() -> Report:
    """Compare the code's marked texts with every catalog of every language."""
    report = Report()
    marked = marked_texts()
    for language in LANGUAGES:
        seen: set[str] = set()
        for path in catalog_files(language):
            name = str(path.relative_to(LOCALE_ROOT))
            for message in read_catalog(path, language):
                msgid = _msgid(message)
                if not msgid:
                    continue
                if msgid not in marked:
                    report.stale.append((name, msgid))
                    continue
                if msgid in seen:
                    report.duplicated.append((language, msgid))
                seen.add(msgid)
                strings = _translations(message)
                if not all(strings):
                    continue  # counted as missing below
                if any(_fields(text) != _fields(msgid) for text in strings):
                    report.placeholders.append((name, msgid))
        translated = {
            _msgid(m)
            for p in catalog_files(language)
            for m in read_catalog(p, language)
            if _msgid(m) and all(_translations(m))
        }
        report.missing.extend((language, text) for text in marked if text not in translated)
    return report


def update(into: str) -> None:
    """Add the texts no catalog has to ``into``.po of each language; drop unused entries."""
    marked = marked_texts()
    plurals = plural_of()
    for language in LANGUAGES:
        folder = LOCALE_ROOT / CATALOG_DIRS[language] / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        known: set[str] = set()
        catalogs: dict[Path, Catalog] = {}
        for path in catalog_files(language):
            catalog = read_catalog(path, language)
            catalog.creation_date = catalog.revision_date = STABLE_DATE
            for message in list(catalog):
                msgid = _msgid(message)
                if msgid and msgid not in marked:
                    catalog.delete(message.id)
                elif msgid:
                    known.add(msgid)
            catalogs[path] = catalog
        target = folder / f"{into}.po"
        if target not in catalogs:
            catalogs[target] = Catalog(
                locale=CATALOG_DIRS[language],
                project="KER Ops",
                header_comment=f"# KER Ops: {into} ({language}).",
                creation_date=STABLE_DATE,
                revision_date=STABLE_DATE,
                fuzzy=False,
            )
        for text in sorted(set(marked) - known):
            english = language == "en"
            if text in plurals:
                msg_id: str | tuple[str, str] = (text, plurals[text])
                msg_str: str | tuple[str, str] = (text, plurals[text]) if english else ("", "")
            else:
                msg_id, msg_str = text, (text if english else "")
            catalogs[target].add(msg_id, msg_str)
        for path, catalog in catalogs.items():
            with path.open("wb") as out:
                write_po(out, catalog, width=100, omit_header=False, sort_output=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"] and len(argv) == 2:
        update(argv[1])
        return 0
    if argv[:1] == ["check"]:
        report = check()
        for language, text in report.missing:
            print(f"missing [{language}]: {text!r}")
        for name, text in report.stale:
            print(f"stale [{name}]: {text!r}")
        for language, text in report.duplicated:
            print(f"duplicated [{language}]: {text!r}")
        for name, text in report.placeholders:
            print(f"placeholders differ [{name}]: {text!r}")
        return 0 if report.ok else 1
    print("usage: python -m kerops.core.catalogs check | update NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
