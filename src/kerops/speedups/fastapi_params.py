"""Speed-up ``fastapi_params``: FastAPI's per-parameter questions answered once per parameter.

For each query, header or cookie parameter of each request, FastAPI asks whether the parameter
is a model, whether it is JSON, which aliases it has and whether its type is a sequence: type
introspection whose answer depends on the declared parameter alone, never on the request
(upstream: fastapi/fastapi#13824 and its relatives). ``install`` wraps the four helpers of
``fastapi.dependencies.utils`` so each answer is kept on the parameter's ``ModelField`` (or, for
a type, in a dict keyed by the type): the same answers, once per parameter per process.

The helpers are FastAPI internals: ``install`` changes nothing unless all four exist (it returns
whether they are wrapped), and ``tests/speedups/test_fastapi_params.py`` fails when a FastAPI
release moves them or changes their signatures.
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


def available() -> bool:
    """Whether this FastAPI has the helpers the patch wraps."""
    return all(callable(getattr(fastapi_utils, name, None)) for name in HELPERS)


def installed() -> bool:
    """Whether FastAPI's helpers are wrapped now."""
    return bool(ORIGINALS) and all(
        getattr(fastapi_utils, name) is not ORIGINALS[name] for name in HELPERS
    )


def install() -> bool:
    """Wrap FastAPI's per-parameter helpers (once per process); whether they are wrapped."""
    if installed():
        return True
    if not available():
        return False
    ORIGINALS.update((name, getattr(fastapi_utils, name)) for name in HELPERS)
    for name in HELPERS:
        keep = _kept_by_type if name == "field_annotation_is_sequence" else _kept_on_field
        setattr(fastapi_utils, name, keep(ORIGINALS[name]))
    return True


def uninstall() -> None:
    """Put FastAPI's own helpers back (the answers kept on fields are then never read)."""
    for name, original in ORIGINALS.items():
        setattr(fastapi_utils, name, original)
