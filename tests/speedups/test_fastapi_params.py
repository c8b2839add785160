"""Speed-up ``fastapi_params``: FastAPI's per-parameter helpers are where the patch expects them,
with the signatures it wraps, and the kept answers are FastAPI's own for every parameter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.dependencies import utils as fastapi_utils
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kerops.speedups import fastapi_params
from tests.fixtures.factories import register_owner
from tests.speedups.conftest import names_called_in, shape

#: The helpers' parameters in the FastAPI release the patch was written for (0.165).
SIGNATURES = {
    "_get_param_model": [("field", "POSITIONAL_OR_KEYWORD")],
    "_is_json_field": [("field", "POSITIONAL_OR_KEYWORD")],
    "_get_param_aliases": [
        ("field", "POSITIONAL_OR_KEYWORD"),
        ("convert_underscores", "KEYWORD_ONLY"),
    ],
    "field_annotation_is_sequence": [("annotation", "POSITIONAL_OR_KEYWORD")],
}


def dependants(client: TestClient) -> list[Any]:
    """Every route's dependant and the dependencies under it."""
    found: list[Any] = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            found.append(dependant)
            stack += dependant.dependencies
    return found


def _parameters(client: TestClient) -> list[object]:
    fields: list[object] = []
    for dependant in dependants(client):
        fields += [*dependant.query_params, *dependant.header_params]
        fields += [*dependant.cookie_params, *dependant.path_params]
    return fields


def test_this_fastapi_has_the_helpers_with_the_wrapped_signatures() -> None:
    # Fails when a FastAPI release renames, drops or changes one: read the new release's
    # request_params_to_args before changing kerops.speedups.fastapi_params.
    assert set(SIGNATURES) == set(fastapi_params.HELPERS)
    fastapi_params.uninstall()
    assert fastapi_params.available()
    for name, expected in SIGNATURES.items():
        assert shape(getattr(fastapi_utils, name)) == expected, name
    assert fastapi_params.install()
    for name, expected in SIGNATURES.items():
        assert shape(fastapi_params.ORIGINALS[name]) == expected, name
        assert fastapi_params.ORIGINALS[name].__module__.startswith("fastapi."), name
    # And FastAPI's request handling still calls them by these names (as module globals).
    assert set(fastapi_params.HELPERS) <= names_called_in(fastapi_utils)


def test_the_helpers_are_wrapped_and_unwrapped_by_the_switch(client: TestClient) -> None:
    assert fastapi_params.install() is True
    assert fastapi_params.installed()
    for name in fastapi_params.HELPERS:
        assert getattr(fastapi_utils, name) is not fastapi_params.ORIGINALS[name]
    fastapi_params.uninstall()
    assert not fastapi_params.installed()
    for name in fastapi_params.HELPERS:
        assert getattr(fastapi_utils, name) is fastapi_params.ORIGINALS[name]


def test_nothing_is_wrapped_when_a_helper_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    fastapi_params.uninstall()
    monkeypatch.delattr(fastapi_utils, "_is_json_field")
    assert fastapi_params.available() is False
    assert fastapi_params.install() is False
    assert fastapi_utils._get_param_model is fastapi_params.ORIGINALS["_get_param_model"]


def test_the_answers_are_fastapis_own_for_every_parameter_of_the_app(client: TestClient) -> None:
    assert fastapi_params.install() is True
    original = fastapi_params.ORIGINALS
    fields = _parameters(client)
    assert len(fields) > 200  # every route's path, query and header parameters
    sequences = 0
    for _ in range(2):  # first computed, then kept
        for field in fields:
            assert fastapi_utils._get_param_model(field) is original["_get_param_model"](field)  # type: ignore[arg-type]
            assert fastapi_utils._is_json_field(field) == original["_is_json_field"](field)  # type: ignore[arg-type]
            for convert in (False, True):
                assert fastapi_utils._get_param_aliases(  # type: ignore[arg-type]
                    field, convert_underscores=convert
                ) == original["_get_param_aliases"](field, convert_underscores=convert)
            annotation = field.field_info.annotation  # type: ignore[attr-defined]
            is_sequence = fastapi_utils.field_annotation_is_sequence(annotation)
            assert is_sequence == original["field_annotation_is_sequence"](annotation)
            sequences += is_sequence
    assert sequences >= 2  # e.g. the ticket list's repeatable status filter


def test_a_list_with_repeated_and_single_filters_still_parses(client: TestClient) -> None:
    owner = register_owner(client)
    headers = {"Authorization": f"Bearer {owner.tokens['access_token']}"}
    ok = client.get(
        "/api/v1/tickets",
        params=[("status", "open"), ("status", "assigned"), ("limit", "5"), ("overdue", "false")],
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    bad = client.get("/api/v1/tickets", params={"limit": "many"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["query", "limit"]
