"""Speed-up ``fastapi_dependencies``: FastAPI's per-dependency questions answered once.

For each dependency of each request, FastAPI works out the dependency's cache key (its callable,
its OAuth scopes, walking the sub-dependencies for a security scheme) and whether its callable
is a generator, an async generator or a coroutine function. The key is a function of the
``Dependant`` built at start-up, the kinds a function of the callable: ``install`` wraps the
helpers of ``fastapi.dependencies.models`` where ``fastapi.dependencies.utils`` and
``fastapi.routing`` call them, keeping the answers per dependant and per callable (bounded).

The helpers are FastAPI internals: ``install`` changes nothing unless all of them exist (it
returns whether they are wrapped), and ``tests/speedups/test_fastapi_dependencies.py`` fails
when a FastAPI release moves them or changes their signatures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from fastapi import routing as fastapi_routing
from fastapi.dependencies import models as fastapi_models
from fastapi.dependencies import utils as fastapi_utils

#: FastAPI's per-dependency helpers wrapped (defined in ``fastapi.dependencies.models``).
HELPERS = (
    "_get_cache_key",
    "_is_gen_callable",
    "_is_async_gen_callable",
    "_is_coroutine_callable",
)
#: The modules that call the helpers by these names (each is replaced where it is found).
CALLERS: tuple[ModuleType, ...] = (fastapi_utils, fastapi_routing)
#: Dependants or callables whose answers one wrapped helper keeps; beyond it, it starts over (an
#: app has a few hundred; more only when dependencies are overridden or built at run time).
KEPT_PER_HELPER = 4096
#: FastAPI's own helpers, as they were before ``install`` wrapped them.
ORIGINALS: dict[str, Callable[..., Any]] = {}
#: The wrapped helpers ``install`` put in place, by name.
WRAPPED: dict[str, Callable[..., Any]] = {}


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


def available() -> bool:
    """Whether this FastAPI has the helpers the patch wraps, where it calls them."""
    return all(
        callable(getattr(module, name, None))
        for module in (fastapi_models, fastapi_utils)
        for name in HELPERS
    )


def installed() -> bool:
    """Whether FastAPI's helpers are wrapped now."""
    return bool(WRAPPED) and all(getattr(fastapi_utils, name) is WRAPPED[name] for name in HELPERS)


def install() -> bool:
    """Wrap FastAPI's per-dependency helpers (once per process); whether they are wrapped."""
    if installed():
        return True
    if not available():
        return False
    if not ORIGINALS:
        ORIGINALS.update((name, getattr(fastapi_models, name)) for name in HELPERS)
        for name in HELPERS:
            # The cache key is asked as ``_get_cache_key(dependant=..., uses_scopes_cache=...)``.
            keyword = "dependant" if name == "_get_cache_key" else None
            WRAPPED[name] = _kept_by_identity(ORIGINALS[name], keyword=keyword)
    for name in HELPERS:
        for module in CALLERS:
            if getattr(module, name, None) is ORIGINALS[name]:
                setattr(module, name, WRAPPED[name])
    return True


def uninstall() -> None:
    """Put FastAPI's own helpers back where the wrapped ones are."""
    for name, wrapped in WRAPPED.items():
        for module in CALLERS:
            if getattr(module, name, None) is wrapped:
                setattr(module, name, ORIGINALS[name])
