"""Answers FastAPI works out again for every parameter of every request, worked out once.

For each query, header or cookie parameter of each request, FastAPI (0.165) asks whether the
parameter is a model, whether it is JSON, which aliases it has and whether its type is a
sequence: type introspection whose answer depends on the declared parameter alone, never on the
request. A ticket list has 16 query parameters; those questions were ~1,400 Python calls, a fifth
of the list request's calls (upstream: fastapi/fastapi#13824 and its relatives). ``install``
wraps the four helpers so each answer is kept on the parameter's ``ModelField`` (or, for a type,
in a dict keyed by the type): the same answers, once per parameter per process.

The helpers are FastAPI internals. ``install`` changes nothing unless all four exist as expected
(it returns whether it did) and ``tests/core/test_fastapi_speedups.py`` fails when a FastAPI
release moves them, so an upgrade cannot silently drop or break this.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from fastapi.dependencies import utils as fastapi_utils

#: The FastAPI helpers wrapped, by the name ``fastapi.dependencies.utils`` calls them by.
HELPERS = (
    "_get_param_model",
    "_is_json_field",
    "_get_param_aliases",
    "field_annotation_is_sequence",
)
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


def install() -> bool:
    """Wrap FastAPI's per-parameter helpers (once per process); whether they are wrapped."""
    if getattr(fastapi_utils, _INSTALLED, False):
        return True
    if not all(callable(getattr(fastapi_utils, name, None)) for name in HELPERS):
        return False
    ORIGINALS.update((name, getattr(fastapi_utils, name)) for name in HELPERS)
    for name in HELPERS:
        keep = _kept_by_type if name == "field_annotation_is_sequence" else _kept_on_field
        setattr(fastapi_utils, name, keep(ORIGINALS[name]))
    setattr(fastapi_utils, _INSTALLED, True)
    return True
