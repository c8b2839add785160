"""Speed-up ``fastapi_dependencies``: FastAPI's per-dependency helpers are where the patch
expects them, with the signatures it wraps, and the kept answers are FastAPI's own for every
dependency of the app."""

from __future__ import annotations

import pytest
from fastapi import routing as fastapi_routing
from fastapi.dependencies import models as fastapi_models
from fastapi.dependencies import utils as fastapi_utils
from fastapi.testclient import TestClient

from kerops.speedups import fastapi_dependencies
from tests.speedups.conftest import names_called_in, shape
from tests.speedups.test_fastapi_params import dependants

#: The helpers' parameters in the FastAPI release the patch was written for (0.165).
SIGNATURES = {
    "_get_cache_key": [("dependant", "KEYWORD_ONLY"), ("uses_scopes_cache", "KEYWORD_ONLY")],
    "_is_gen_callable": [("call", "POSITIONAL_OR_KEYWORD")],
    "_is_async_gen_callable": [("call", "POSITIONAL_OR_KEYWORD")],
    "_is_coroutine_callable": [("call", "POSITIONAL_OR_KEYWORD")],
}


def test_this_fastapi_has_the_helpers_with_the_wrapped_signatures() -> None:
    # Fails when a FastAPI release renames, drops or changes one: read the new release's
    # solve_dependencies before changing kerops.speedups.fastapi_dependencies.
    assert set(SIGNATURES) == set(fastapi_dependencies.HELPERS)
    for name, expected in SIGNATURES.items():
        original = getattr(fastapi_models, name)  # the definitions (never replaced)
        assert original.__module__ == "fastapi.dependencies.models", name
        assert shape(original) == expected, name
    # The callers still call them by these names, as their own module globals.
    assert set(fastapi_dependencies.HELPERS) <= names_called_in(fastapi_utils)
    kinds = {"_is_gen_callable", "_is_async_gen_callable", "_is_coroutine_callable"}
    assert kinds <= names_called_in(fastapi_routing)


def test_the_helpers_are_wrapped_where_fastapi_calls_them(client: TestClient) -> None:
    assert fastapi_dependencies.install() is True
    for name in fastapi_dependencies.HELPERS:
        original = fastapi_dependencies.ORIGINALS[name]
        assert getattr(fastapi_utils, name) is fastapi_dependencies.WRAPPED[name]
        if hasattr(fastapi_routing, name):
            assert getattr(fastapi_routing, name) is fastapi_dependencies.WRAPPED[name]
        assert getattr(fastapi_models, name) is original  # the definitions stay FastAPI's
    fastapi_dependencies.uninstall()
    for name in fastapi_dependencies.HELPERS:
        assert getattr(fastapi_utils, name) is fastapi_dependencies.ORIGINALS[name]


def test_nothing_is_wrapped_when_a_helper_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    fastapi_dependencies.uninstall()
    monkeypatch.delattr(fastapi_models, "_is_gen_callable")
    assert fastapi_dependencies.available() is False
    assert fastapi_dependencies.install() is False
    assert not fastapi_dependencies.installed()


def test_the_answers_are_fastapis_own_for_every_dependency_of_the_app(
    client: TestClient,
) -> None:
    assert fastapi_dependencies.install() is True
    original = fastapi_dependencies.ORIGINALS
    found = dependants(client)
    assert len(found) > 500  # every route and the dependencies under it
    kinds = {"gen": 0, "async_gen": 0, "coroutine": 0}
    for _ in range(2):  # first computed, then kept
        for dependant in found:
            call = dependant.call
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

    kept = fastapi_dependencies._kept_by_identity(kind, keyword=None)
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
    kept = fastapi_dependencies._kept_by_identity(lambda obj: obj, keyword=None)
    objects = [object() for _ in range(fastapi_dependencies.KEPT_PER_HELPER + 10)]
    for obj in objects:
        assert kept(obj) is obj
    assert 0 < len(_store(kept)) <= fastapi_dependencies.KEPT_PER_HELPER
