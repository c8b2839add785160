"""Problem documents in the reader's language: the user's own, else the browser's, else the
client's default, else es-CL; machine fields never change with it."""

from __future__ import annotations

import uuid
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.errors import VALIDATION_MESSAGES, AppError, validation_errors
from kerops.core.i18n import LANGUAGES, reset_language, set_language
from kerops.core.models import Base
from kerops.modules import import_models
from kerops.users.models import Client
from kerops.users.schemas import Language
from tests.fixtures.factories import Account, Runner, register_owner

LOCALES = "/api/v1/locales"


def _without_language(client: TestClient) -> None:
    """The shared client asks for English (tests/conftest.py); these tests choose their own."""
    client.headers.pop("accept-language", None)


def _headers(account: Account, accept: str | None = None) -> dict[str, str]:
    headers = dict(account.headers)
    if accept is not None:
        headers["Accept-Language"] = accept
    return headers


def _not_found(client: TestClient, account: Account, accept: str | None = None) -> Any:
    return client.get(f"{LOCALES}/{uuid.uuid4()}", headers=_headers(account, accept))


def _conflict(client: TestClient, account: Account, accept: str | None = None) -> Any:
    # The first call of a test makes the locale; the later ones find it there already.
    first = client.post(LOCALES, json={"name": "A", "code": "STGO-1"}, headers=account.headers)
    assert first.status_code in (201, 409), first.text
    return client.post(
        LOCALES, json={"name": "B", "code": "STGO-1"}, headers=_headers(account, accept)
    )


def _own_rule(client: TestClient, account: Account, accept: str | None = None) -> Any:
    return client.post(
        LOCALES, json={"name": "X", "timezone": "Mars/Olympus"}, headers=_headers(account, accept)
    )


def _built_in(client: TestClient, account: Account, accept: str | None = None) -> Any:
    return client.post(LOCALES, json={}, headers=_headers(account, accept))


#: Each kind of error, with its status, code and the texts a person reads in each language.
CASES = {
    "not_found": (
        _not_found,
        404,
        "not_found",
        {
            "en": ("Not found", "locale not found"),
            "es-CL": ("No encontrado", "local no encontrado"),
        },
    ),
    "conflict": (
        _conflict,
        409,
        "code_taken",
        {
            "en": ("Conflict", "This client already has a locale with code 'STGO-1'."),
            "es-CL": ("Conflicto", "Este cliente ya tiene un local con el código 'STGO-1'."),
        },
    ),
    "own_rule": (
        _own_rule,
        422,
        "validation_error",
        {
            "en": ("Validation failed", "The request is not valid; see errors."),
            "es-CL": ("Validación fallida", "La solicitud no es válida; revise errors."),
        },
    ),
    "built_in": (
        _built_in,
        422,
        "validation_error",
        {
            "en": ("Validation failed", "The request is not valid; see errors."),
            "es-CL": ("Validación fallida", "La solicitud no es válida; revise errors."),
        },
    ),
}
#: The field error of the two 422s, in each language (``type`` never changes).
FIELD_ERRORS = {
    "own_rule": (
        ["body", "timezone"],
        "value_error",
        {
            "en": "Value error, must be an IANA timezone name, e.g. America/Santiago",
            "es-CL": "Valor no válido: debe ser un nombre de zona horaria IANA, p. ej. "
            "America/Santiago",
        },
    ),
    "built_in": (
        ["body", "name"],
        "missing",
        {"en": "Field required", "es-CL": "Campo obligatorio"},
    ),
}


def _assert_in(response: Any, case: str, language: str) -> None:
    _, status, code, texts = CASES[case]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert (body["title"], body["detail"]) == texts[language]
    assert response.headers["content-language"] == language
    assert "accept-language" in response.headers["vary"].lower()
    if case in FIELD_ERRORS:
        loc, kind, messages = FIELD_ERRORS[case]
        [error] = [e for e in body["errors"] if e["loc"] == loc]
        assert error["type"] == kind
        assert error["msg"] == messages[language]


def _set_user_language(client: TestClient, account: Account, language: str | None) -> None:
    response = client.patch(
        f"/api/v1/users/{account.id}", json={"language": language}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["language"] == language


def _set_client_language(run: Runner, client_id: uuid.UUID | None, language: str) -> None:
    async def change(session: AsyncSession) -> None:
        await session.execute(
            update(Client).where(Client.id == client_id).values(language=language)
        )

    run(change)


@pytest.mark.parametrize("case", list(CASES))
def test_errors_are_spanish_by_default(client: TestClient, case: str) -> None:
    _without_language(client)
    owner = register_owner(client)
    _assert_in(CASES[case][0](client, owner), case, "es-CL")


@pytest.mark.parametrize("case", list(CASES))
def test_errors_follow_the_browsers_language(client: TestClient, case: str) -> None:
    _without_language(client)
    owner = register_owner(client)
    _assert_in(CASES[case][0](client, owner, "en-GB,es;q=0.5"), case, "en")
    _assert_in(CASES[case][0](client, owner, "es-AR"), case, "es-CL")


@pytest.mark.parametrize("case", list(CASES))
def test_the_users_own_language_wins_over_the_browsers(client: TestClient, case: str) -> None:
    _without_language(client)
    owner = register_owner(client)
    _set_user_language(client, owner, "en")
    _assert_in(CASES[case][0](client, owner, "es-CL"), case, "en")
    _set_user_language(client, owner, "es-CL")
    _assert_in(CASES[case][0](client, owner, "en"), case, "es-CL")


@pytest.mark.parametrize("case", list(CASES))
def test_the_clients_default_answers_when_neither_names_one(
    client: TestClient, run: Runner, case: str
) -> None:
    _without_language(client)
    owner = register_owner(client)
    # The principal is cached by now: changing the client must reach it.
    _assert_in(CASES[case][0](client, owner), case, "es-CL")
    _set_client_language(run, owner.client_id, "en")
    _assert_in(CASES[case][0](client, owner), case, "en")
    # A browser naming a language still comes before the client's default.
    _assert_in(CASES[case][0](client, owner, "es"), case, "es-CL")
    # A browser naming neither Spanish nor English leaves it to the client.
    _assert_in(CASES[case][0](client, owner, "fr-FR, de;q=0.8"), case, "en")


def test_a_caller_not_yet_known_is_answered_in_the_browsers_language(client: TestClient) -> None:
    _without_language(client)
    spanish = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nonsense"})
    english = client.get(
        "/api/v1/auth/me", headers={"Authorization": "Bearer nonsense", "Accept-Language": "en"}
    )
    assert spanish.status_code == english.status_code == 401
    assert spanish.json()["code"] == english.json()["code"] == "unauthorized"
    assert spanish.json()["detail"] == "Token de acceso no válido o vencido."
    assert english.json()["detail"] == "Invalid or expired access token."
    assert spanish.headers["content-language"] == "es-CL"
    assert english.headers["content-language"] == "en"


def test_a_path_that_does_not_exist_is_answered_in_the_readers_language(
    client: TestClient,
) -> None:
    _without_language(client)
    spanish = client.get("/api/v1/nowhere")
    english = client.get("/api/v1/nowhere", headers={"Accept-Language": "en"})
    assert spanish.status_code == english.status_code == 404
    assert spanish.json()["code"] == english.json()["code"] == "not_found"
    assert (spanish.json()["title"], spanish.json()["detail"]) == ("No encontrado",) * 2
    assert (english.json()["title"], english.json()["detail"]) == ("Not found",) * 2


def test_json_answers_say_their_language(client: TestClient) -> None:
    _without_language(client)
    owner = register_owner(client)
    response = client.get(f"/api/v1/clients/{owner.client_id}", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["content-language"] == "es-CL"
    assert response.json()["language"] == "es-CL"


def test_the_owner_sets_the_clients_default_language(client: TestClient) -> None:
    _without_language(client)
    owner = register_owner(client)
    url = f"/api/v1/clients/{owner.client_id}"
    changed = client.patch(url, json={"language": "en"}, headers=owner.headers)
    assert changed.status_code == 200, changed.text
    read = client.get(url, headers=owner.headers)
    assert read.json()["language"] == "en"
    # Now the client's default answers the owner, who chose no language.
    assert read.headers["content-language"] == "en"
    for bad in ({"language": "fr"}, {"language": None}):
        refused = client.patch(url, json=bad, headers=owner.headers)
        assert refused.status_code == 422
        assert refused.json()["code"] == "validation_error"
    assert client.get(url, headers=owner.headers).json()["language"] == "en"


def test_the_users_language_may_be_cleared(client: TestClient) -> None:
    _without_language(client)
    owner = register_owner(client)
    _set_user_language(client, owner, "en")
    _set_user_language(client, owner, None)
    _assert_in(_not_found(client, owner), "not_found", "es-CL")


def test_a_language_not_offered_is_refused(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.patch(
        f"/api/v1/users/{owner.id}", json={"language": "fr"}, headers=owner.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "literal_error"


def test_the_language_type_offers_the_products_languages() -> None:
    assert get_args(Language) == LANGUAGES


def test_an_unlisted_validation_type_keeps_pydantics_message() -> None:
    token = set_language("es-CL")
    try:
        [error] = validation_errors(
            [{"loc": ("body", "x"), "msg": "Some rare message", "type": "rare_type"}]
        )
    finally:
        reset_language(token)
    assert error == {"loc": ("body", "x"), "type": "rare_type", "msg": "Some rare message"}


def test_built_in_messages_are_translated_with_their_context() -> None:
    token = set_language("es-CL")
    try:
        [error] = validation_errors(
            [
                {
                    "loc": ("body", "name"),
                    "msg": "String should have at most 200 characters",
                    "type": "string_too_long",
                    "ctx": {"max_length": 200},
                }
            ]
        )
    finally:
        reset_language(token)
    assert error["msg"] == "El texto debe tener como máximo 200 caracteres"
    assert error["type"] == "string_too_long"
    assert "string_too_long" in VALIDATION_MESSAGES


def test_every_table_has_a_translated_not_found_detail() -> None:
    import_models()
    assert set(Base.metadata.tables) <= set(access._NOT_FOUND)


def test_every_error_class_has_a_title() -> None:
    def subclasses(cls: type[AppError]) -> set[type[AppError]]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found)) if found else found

    import_models()
    for error in {AppError, *subclasses(AppError)}:
        assert error.title and error.code, error
