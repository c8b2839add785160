"""The speed-ups are process-wide: every test here leaves them all switched on again."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from kerops.core import audit
from kerops.speedups import fastapi_dependencies, fastapi_params


def shape(fn: Callable[..., Any]) -> list[tuple[str, str]]:
    """The names and kinds of ``fn``'s parameters (what a caller of an internal relies on)."""
    return [(p.name, p.kind.name) for p in inspect.signature(fn).parameters.values()]


def names_called_in(module: ModuleType) -> set[str]:
    """The global names the module's own functions (and methods) refer to."""
    names: set[str] = set()
    for value in vars(module).values():
        members = vars(value).values() if inspect.isclass(value) else (value,)
        for member in members:
            code = getattr(member, "__code__", None)
            if code is not None and getattr(member, "__module__", None) == module.__name__:
                names.update(code.co_names)
    return names


@pytest.fixture(autouse=True)
def _speedups_back_on() -> Iterator[None]:
    yield
    assert fastapi_params.install()
    assert fastapi_dependencies.install()
    audit.READ_COMMITTED_STATE = True
