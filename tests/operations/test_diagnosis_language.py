"""The diagnosis sentence in a language: the generic cause, and the sentence around a quoted
cause or a similar ticket (stored in the client's language; the generic cause a reader is shown
instead of a cause they may not read is in the reader's)."""

from __future__ import annotations

from kerops.core.i18n import reset_language, set_language
from kerops.operations.diagnosis_engine import Doc, Index, diagnose, generic_cause

HISTORY = [
    Doc(
        ticket_id="t7",
        number=7,
        title="chiller no enfria sala de ventas",
        skill="hvac",
        cause="Filtro tapado; se cambió el filtro.",
    ),
    Doc(ticket_id="t8", number=8, title="chiller no enfria bodega", skill="hvac"),
]
QUERY = Doc(ticket_id="q", number=99, title="chiller no enfria")


def test_the_generic_cause_names_the_trade_by_its_label() -> None:
    assert generic_cause("hvac", "es-CL") == "Parece una falla de climatización."
    assert generic_cause("hvac", "en") == "Looks like a fault of air conditioning."
    assert generic_cause(None, "es-CL") == "Aún no hay historial suficiente para sugerir una causa."
    assert generic_cause(None, "en") == "Not enough history to suggest a cause yet."


def test_the_generic_cause_follows_the_readers_language_by_default() -> None:
    token = set_language("en")
    try:
        assert generic_cause("plumbing") == "Looks like a fault of plumbing."
    finally:
        reset_language(token)
    assert generic_cause("plumbing") == "Parece una falla de gasfitería."


def test_a_quoted_cause_is_framed_in_the_asked_language_with_the_ticket_code() -> None:
    index = Index(HISTORY)
    spanish = diagnose(QUERY, index, language="es-CL")
    english = diagnose(QUERY, index, language="en")
    assert spanish.cause == "Filtro tapado; se cambió el filtro. (como en T-000007)"
    assert english.cause == "Filtro tapado; se cambió el filtro. (as on T-000007)"
    assert spanish.cause_ticket_ids == english.cause_ticket_ids == ["t7"]


def test_a_similar_ticket_without_a_cause_is_cited_by_its_code() -> None:
    index = Index([HISTORY[1]])
    assert diagnose(QUERY, index, language="es-CL").cause == (
        "Similar a T-000008: chiller no enfria bodega"
    )
    assert diagnose(QUERY, index, language="en").cause == "Like T-000008: chiller no enfria bodega"


def test_a_stored_diagnosis_is_written_in_spanish_by_default() -> None:
    assert diagnose(QUERY, Index([])).cause == (
        "Parece una falla de climatización; aún no hay tickets resueltos similares."
    )
