"""Answers FastAPI works out again for every parameter of every request, worked out once.

For each query, header or cookie parameter of each request, FastAPI (0.165) asks whether the
parameter is a model, whether it is JSON, which aliases it has and whether its type is a
sequence: type introspection whose answer depends on the declared parameter alone, never on the
request. A ticket list has 16 query parameters; those questions were ~1,400 Python calls, a fifth
of the list request's calls (upstream: fastapi/fastapi#13824 and its relatives). ``install``
wraps the four helpers so each answer is kept on the parameter's ``ModelField`` (or, for a type,
in a dict keyed by the type): the same answers, once per parameter per process.

The same holds one level up, for each dependency of each request: FastAPI works out the
dependency's cache key (its callable, its OAuth scopes, walking the sub-dependencies for a
security scheme) and whether its callable is a generator, an async generator or a coroutine
function, again for every request (~180 of a ticket read's ~1,650 calls). The key is a function
of the ``Dependant`` built at start-up, the kinds a function of the callable: ``install`` keeps
both, per dependant and per callable (``DEPENDENCY_HELPERS``).

The helpers are FastAPI internals. ``install`` changes nothing unless all four exist as expected
(it returns whether it did) and ``tests/core/test_fastapi_speedups.py`` fails when a FastAPI
release moves them, so an upgrade cannot silently drop or break this.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from fastapi import routing as fastapi_routing
from fastapi.dependencies import models as fastapi_models
from fastapi.dependencies import utils as fastapi_utils

#: The FastAPI helpers wrapped, by the name ``fastapi.dependencies.utils`` calls them by.
HELPERS = (
    "_get_param_model",
    "_is_json_field",
    "_get_param_aliases",
    "field_annotation_is_sequence",
)
#: FastAPI's per-dependency helpers wrapped (defined in ``fastapi.dependencies.models``, called by
#: these names from ``fastapi.dependencies.utils`` and ``fastapi.routing``).
DEPENDENCY_HELPERS = (
    "_get_cache_key",
    "_is_gen_callable",
    "_is_async_gen_callable",
    "_is_coroutine_callable",
)
#: Dependants or callables whose answers one wrapped helper keeps; beyond it, it starts over (an
#: app has a few hundred; more only when dependencies are overridden or built at run time).
KEPT_PER_HELPER = 4096
_INSTALLED = "_kerops_speedups"
#: FastAPI's own helpers, as they were before ``install`` wrapped them.
ORIGINALS: dict[str, Callable[..., Any]] = {}


def _kept_on_field(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(field, **options)`` kept in the field's ``__dict__`` per options."""
    key = f"_kerops_{fn.__name__}"

    @functools.wraps(fn)
    def wrapper(field: Any, **options: Any) -> Any:
        kept: dict[tuple[tuple[str, Any], ...], Any] | None = field.__dict__.get(key)
        if kept is None:
            kept = field.__dict__[key] = {}
        options_key = tuple(sorted(options.items()))
        if options_key not in kept:
            kept[options_key] = fn(field, **options)
        return kept[options_key]

    return wrapper


def _kept_by_type(fn: Callable[[object], bool]) -> Callable[[object], bool]:
    """``fn(annotation)`` kept per annotation (computed each time for an unhashable one)."""
    kept: dict[object, bool] = {}

    @functools.wraps(fn)
    def wrapper(annotation: object) -> bool:
        try:
            return kept[annotation]
        except KeyError:
            answer = kept[annotation] = fn(annotation)
            return answer
        except TypeError:  # an unhashable annotation (e.g. Annotated with unhashable metadata)
            return fn(annotation)

    return wrapper


def _kept_by_identity(fn: Callable[..., Any], *, keyword: str | None) -> Callable[..., Any]:
    """``fn(obj)`` (or ``fn(keyword=obj, ...)``) kept per object identity; the object is kept
    beside its answer, so an id is never confused with a later object's."""
    kept: dict[int, tuple[object, Any]] = {}

    if keyword is None:

        @functools.wraps(fn)
        def by_position(obj: Any) -> Any:
            found = kept.get(id(obj))
            if found is not None and found[0] is obj:
                return found[1]
            answer = fn(obj)
            if len(kept) >= KEPT_PER_HELPER:
                kept.clear()
            kept[id(obj)] = (obj, answer)
            return answer

        return by_position

    @functools.wraps(fn)
    def by_keyword(**options: Any) -> Any:
        obj = options[keyword]
        found = kept.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        answer = fn(**options)
        if len(kept) >= KEPT_PER_HELPER:
            kept.clear()
        kept[id(obj)] = (obj, answer)
        return answer

    return by_keyword


def _has_helpers() -> bool:
    modules = (fastapi_utils, fastapi_models)
    return all(callable(getattr(fastapi_utils, name, None)) for name in HELPERS) and all(
        callable(getattr(module, name, None)) for module in modules for name in DEPENDENCY_HELPERS
    )


def install() -> bool:
    """Wrap FastAPI's per-parameter and per-dependency helpers (once per process); whether they
    are wrapped."""
    if getattr(fastapi_utils, _INSTALLED, False):
        return True
    if not _has_helpers():
        return False
    ORIGINALS.update((name, getattr(fastapi_utils, name)) for name in HELPERS)
    ORIGINALS.update((name, getattr(fastapi_models, name)) for name in DEPENDENCY_HELPERS)
    for name in HELPERS:
        keep = _kept_by_type if name == "field_annotation_is_sequence" else _kept_on_field
        setattr(fastapi_utils, name, keep(ORIGINALS[name]))
    for name in DEPENDENCY_HELPERS:
        # The cache key is asked as ``_get_cache_key(dependant=..., uses_scopes_cache=...)``.
        wrapped = _kept_by_identity(
            ORIGINALS[name], keyword="dependant" if name == "_get_cache_key" else None
        )
        for module in (fastapi_utils, fastapi_routing):
            if getattr(module, name, None) is ORIGINALS[name]:
                setattr(module, name, wrapped)
    setattr(fastapi_utils, _INSTALLED, True)
    return True
