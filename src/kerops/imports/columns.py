"""The columns of an import: each kind's columns are a declared list of specs (header in Spanish
and English, a parser, whether it is required, what it takes), and prefixed columns
(``medidor: horas`` / ``meter: run_hours``) carry named values; another module adds its own
columns to a kind with :func:`add_column` or :func:`add_prefixed` (custom fields add a family
whose headers ``campo:<code>``, ``field:<code>`` or ``Label (field:<code>)`` a function
reads)."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kerops.core.i18n import N_, gettext


class ImportKind(enum.StrEnum):
    """What a spreadsheet holds, one kind per file."""

    locales = "locales"
    areas = "areas"
    assets = "assets"
    products = "products"
    users = "users"
    plans = "plans"
    stock = "stock"


class CellError(Exception):
    """A cell whose text cannot be read as its column's type (``message`` already translated)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Reading:
    """How the cells of one file are read: the language decides what ``1.234`` means."""

    language: str


#: Reads one non-empty cell (a string, or a number/date/bool from an XLSX cell).
Parser = Callable[[Any, Reading], Any]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its machine ``key``, its headers, its parser and what it takes."""

    key: str
    es: str
    en: str
    parse: Parser
    required: bool = False
    #: What the column takes, for the notes of the templates (marked with ``N_``).
    help: str = ""
    example_es: str = ""
    example_en: str = ""

    def header(self, language: str) -> str:
        """The header in ``language`` (capitalised)."""
        return _capital(self.en if language == "en" else self.es)

    def example(self, language: str) -> str:
        """The example value in ``language``."""
        return self.example_en if language == "en" else self.example_es


@dataclass(frozen=True, slots=True)
class Prefixed:
    """A family of columns named ``<prefix>: <name>``, each a named value (``key`` → {name: v})."""

    key: str
    es: str
    en: str
    parse: Parser
    help: str = ""
    example_name: str = ""
    example_value: str = ""
    #: Reads the name from a whole header (instead of ``<prefix>: <name>``); such a family's
    #: columns depend on the client, so the templates do not show it as an example.
    match: Callable[[str], str | None] | None = None

    def header(self, language: str, name: str) -> str:
        """The header of one column of the family."""
        return f"{_capital(self.en if language == 'en' else self.es)}: {name}"


@dataclass
class KindColumns:
    """The columns of one kind: the fixed ones in order, then the prefixed families."""

    columns: list[Column] = field(default_factory=list)
    prefixed: list[Prefixed] = field(default_factory=list)


_KINDS: dict[ImportKind, KindColumns] = {kind: KindColumns() for kind in ImportKind}


def columns_of(kind: ImportKind) -> KindColumns:
    """The declared columns of a kind."""
    return _KINDS[kind]


def add_column(kind: ImportKind, column: Column) -> None:
    """Declare a column of a kind (once per key)."""
    spec = _KINDS[kind]
    spec.columns[:] = [c for c in spec.columns if c.key != column.key]
    spec.columns.append(column)


def add_prefixed(kind: ImportKind, family: Prefixed) -> None:
    """Declare a family of prefixed columns of a kind (once per key)."""
    spec = _KINDS[kind]
    spec.prefixed[:] = [p for p in spec.prefixed if p.key != family.key]
    spec.prefixed.append(family)


def declare(kind: ImportKind, columns: Sequence[Column]) -> None:
    """Declare a kind's fixed columns, in template order."""
    for column in columns:
        add_column(kind, column)


def normalise_header(text: str) -> str:
    """A header as compared: lower case, no accents, single spaces, no required-marking ``*``."""
    folded = unicodedata.normalize("NFKD", text.strip().rstrip("*").strip().casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[\s_]+", " ", plain).strip()


# --- parsers -------------------------------------------------------------------------------------


def as_text(value: Any) -> str:
    """A cell as text (an XLSX number, date or yes/no as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _as_text(value)


def _as_text(value: Any) -> str:
    if type(value) is str:
        return value.strip()  # (most cells: the text of a CSV)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def text(max_length: int) -> Parser:
    """Text of at most ``max_length`` characters, stored as written (a leading ``=`` too)."""

    def parse(value: Any, _reading: Reading) -> str:
        result = _as_text(value)
        if len(result) > max_length:
            raise CellError(
                "too_long",
                gettext("At most {max} characters are allowed.", max=max_length),
            )
        if "\x00" in result:
            raise CellError("invalid_text", gettext("The text holds a NUL character."))
        return result

    return parse


def code(max_length: int) -> Parser:
    """A code: text without spaces around it, compared as written."""
    return text(max_length)


_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def read_decimal(value: Any, reading: Reading) -> Decimal:
    """A number: ``1234,5`` and ``1.234,5`` in es-CL, ``1234.5`` and ``1,234.5`` everywhere."""
    if isinstance(value, bool):
        raise CellError("not_a_number", gettext("This is not a number."))
    if isinstance(value, int | float):
        return Decimal(str(value))
    raw = _as_text(value).replace(" ", "").replace("\u00a0", "")
    if "," in raw and "." in raw:
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif "," in raw:
        if reading.language == "en" and re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", raw):
            raw = raw.replace(",", "")
        else:
            raw = raw.replace(",", ".")
    elif reading.language != "en" and _THOUSANDS_DOT.match(raw):
        raw = raw.replace(".", "")
    if not _NUMBER.match(raw):
        raise CellError("not_a_number", gettext("This is not a number."))
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise CellError("not_a_number", gettext("This is not a number.")) from exc


def number(value: Any, reading: Reading) -> float:
    """A decimal number (see :func:`read_decimal`)."""
    result = float(read_decimal(value, reading))
    if result != result or result in (float("inf"), float("-inf")):
        raise CellError("not_a_number", gettext("This is not a number."))
    return result


def integer(value: Any, reading: Reading) -> int:
    """A whole number."""
    result = read_decimal(value, reading)
    if result != result.to_integral_value():
        raise CellError("not_an_integer", gettext("This must be a whole number."))
    return int(result)


_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def day(value: Any, _reading: Reading) -> date:
    """A date: ``dd-mm-aaaa`` (or with ``/``), ISO ``aaaa-mm-dd``, or an XLSX date cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = _as_text(value)
    found = _DMY.match(raw)
    try:
        if found:
            result = date(int(found[3]), int(found[2]), int(found[1]))
        elif (iso := _ISO.match(raw)) is not None:
            result = date(int(iso[1]), int(iso[2]), int(iso[3]))
        else:
            raise ValueError(raw)
    except ValueError as exc:
        raise CellError(
            "invalid_date", gettext("Write the date as dd-mm-aaaa or aaaa-mm-dd.")
        ) from exc
    if not 1900 <= result.year <= 2200:
        raise CellError("invalid_date", gettext("The year must be between 1900 and 2200."))
    return result


_TRUE = {"si", "sí", "s", "yes", "y", "true", "verdadero", "1", "x"}
_FALSE = {"no", "n", "false", "falso", "0"}


def yes_no(value: Any, _reading: Reading) -> bool:
    """Yes or no: ``sí``/``no``, ``yes``/``no``, ``true``/``false``, ``1``/``0``."""
    if isinstance(value, bool):
        return value
    raw = _as_text(value).casefold()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise CellError("invalid_choice", gettext("Write sí or no (yes or no)."))


def choice(
    values: type[enum.StrEnum] | Sequence[str], aliases: dict[str, str] | None = None
) -> Parser:
    """One of fixed values (the machine value, or a Spanish alias), compared without case."""
    allowed = [v.value for v in values] if isinstance(values, type) else list(values)
    table = {normalise_header(v): v for v in allowed}
    table.update({normalise_header(k): v for k, v in (aliases or {}).items()})

    def parse(value: Any, _reading: Reading) -> str:
        found = table.get(normalise_header(_as_text(value)))
        if found is None:
            raise CellError(
                "invalid_choice",
                gettext("Allowed values: {values}.", values=", ".join(allowed)),
            )
        return found

    return parse


def choices_help(values: type[enum.StrEnum] | Sequence[str]) -> str:
    """The allowed values, for the notes."""
    return ", ".join(v.value for v in values) if isinstance(values, type) else ", ".join(values)


#: Texts of the notes sheet, translated when a template is built.
NOTES_HEADERS = (N_("Column"), N_("Required"), N_("What it takes"), N_("Example"))
