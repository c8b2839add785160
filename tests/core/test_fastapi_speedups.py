"""FastAPI's per-parameter helpers, answered once per parameter: the same answers as FastAPI's
own, for every parameter of every route of the app."""

from __future__ import annotations

from fastapi.dependencies import utils as fastapi_utils
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kerops.core import fastapi_speedups


def _parameters(client: TestClient) -> list[object]:
    fields: list[object] = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            fields += [*dependant.query_params, *dependant.header_params]
            fields += [*dependant.cookie_params, *dependant.path_params]
            stack += dependant.dependencies
    return fields


def test_this_fastapi_has_the_helpers_and_they_are_wrapped(client: TestClient) -> None:
    # Fails when a FastAPI release renames or drops one: look at the new release's
    # request_params_to_args before changing fastapi_speedups.
    assert fastapi_speedups.install() is True
    assert set(fastapi_speedups.ORIGINALS) == set(fastapi_speedups.HELPERS)
    for name in fastapi_speedups.HELPERS:
        assert getattr(fastapi_utils, name) is not fastapi_speedups.ORIGINALS[name]


def test_the_answers_are_fastapis_own_for_every_parameter_of_the_app(client: TestClient) -> None:
    original = fastapi_speedups.ORIGINALS
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
    from tests.fixtures.factories import register_owner

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
