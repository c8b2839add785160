"""FastAPI's per-parameter helpers, answered once per parameter: the same answers as FastAPI's
own, for every parameter of every route of the app."""

from __future__ import annotations

from typing import Any

from fastapi.dependencies import utils as fastapi_utils
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kerops.core import fastapi_speedups


def _dependants(client: TestClient) -> list[Any]:
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
    for dependant in _dependants(client):
        fields += [*dependant.query_params, *dependant.header_params]
        fields += [*dependant.cookie_params, *dependant.path_params]
    return fields


def test_this_fastapi_has_the_helpers_and_they_are_wrapped(client: TestClient) -> None:
    # Fails when a FastAPI release renames or drops one: look at the new release's
    # request_params_to_args before changing fastapi_speedups.
    assert fastapi_speedups.install() is True
    wrapped = {*fastapi_speedups.HELPERS, *fastapi_speedups.DEPENDENCY_HELPERS}
    assert set(fastapi_speedups.ORIGINALS) == wrapped
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


def test_the_dependency_helpers_are_wrapped_where_fastapi_calls_them(client: TestClient) -> None:
    from fastapi import routing as fastapi_routing

    assert fastapi_speedups.install() is True
    for name in fastapi_speedups.DEPENDENCY_HELPERS:
        original = fastapi_speedups.ORIGINALS[name]
        assert getattr(fastapi_utils, name) is not original
        if hasattr(fastapi_routing, name):
            assert getattr(fastapi_routing, name) is not original


def test_dependency_answers_are_fastapis_own_for_every_dependency_of_the_app(
    client: TestClient,
) -> None:
    original = fastapi_speedups.ORIGINALS
    dependants = _dependants(client)
    assert len(dependants) > 500  # every route and the dependencies under it
    kinds = {"gen": 0, "async_gen": 0, "coroutine": 0}
    for _ in range(2):  # first computed, then kept
        for dependant in dependants:
            call = dependant.call  # type: ignore[attr-defined]
            assert fastapi_utils._get_cache_key(dependant=dependant) == original["_get_cache_key"](
                dependant=dependant
            )
            for kind, name in (
                ("gen", "_is_gen_callable"),
                ("async_gen", "_is_async_gen_callable"),
                ("coroutine", "_is_coroutine_callable"),
            ):
                answer = getattr(fastapi_utils, name)(call)
                assert answer == original[name](call)
                kinds[kind] += answer
    # The app has each kind: the request's session is an async generator, the principal a
    # coroutine function, the OAuth2 scheme a callable object.
    assert kinds["async_gen"] > 0 and kinds["coroutine"] > 0


def _store(kept: object) -> dict[int, tuple[object, object]]:
    cells = kept.__closure__  # type: ignore[attr-defined]
    return next(c.cell_contents for c in cells if isinstance(c.cell_contents, dict))


def test_a_kept_answer_is_never_given_to_another_object_with_a_reused_id() -> None:
    calls: list[object] = []

    def kind(obj: object) -> str:
        calls.append(obj)
        return type(obj).__name__

    kept = fastapi_speedups._kept_by_identity(kind, keyword=None)
    first = [1]
    assert kept(first) == "list"
    assert kept(first) == "list"
    assert calls == [first]  # computed once
    # A freed object's id can be given to a new one: the stale answer is not used for it.
    other = (1,)
    _store(kept)[id(other)] = (first, "list")
    assert kept(other) == "tuple"
    assert calls[-1] is other


def test_kept_answers_are_bounded() -> None:
    kept = fastapi_speedups._kept_by_identity(lambda obj: obj, keyword=None)
    objects = [object() for _ in range(fastapi_speedups.KEPT_PER_HELPER + 10)]
    for obj in objects:
        assert kept(obj) is obj
    assert 0 < len(_store(kept)) <= fastapi_speedups.KEPT_PER_HELPER
