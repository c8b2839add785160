"""The framework speed-ups: code that patches, or reads, private internals of FastAPI, Starlette,
SQLAlchemy or asyncpg because the public path costs measurably more CPU per request.

Each has a name and a switch: ``KEROPS_SPEEDUPS_OFF`` lists the names turned off (default: none).
With one off the app answers the same, only slower; ``tests/speedups/`` proves both that each
answers as the library's own path would and that the internals it relies on are still there, so
a library upgrade that moves them fails loudly. The libraries are upper-bounded in
``pyproject.toml`` for the same reason. See docs/architecture.md, "Framework speed-ups".

- ``fastapi_params`` (``fastapi_params.py``): FastAPI's per-parameter helpers, answered once.
- ``fastapi_dependencies`` (``fastapi_dependencies.py``): FastAPI's per-dependency helpers,
  answered once.
- ``route_index`` (``route_index.py``): the routes found by their leading path segments, in
  Starlette's ``Router.middleware_stack``.
- ``direct_reads`` (``kerops.core.reads.StatementRunner``): the reads' statements built once,
  sent straight to asyncpg with SQLAlchemy's compiled statements and type processors (and
  ``Pool._invalidate``).
- ``audit_committed_state`` (``kerops.core.audit``): the values before a change read from the
  ORM's ``InstanceState.committed_state`` instead of a history per column.
- ``scope_with_begin`` (``kerops.core.row_scope``): a transaction's ``BEGIN`` carries the row
  scope's ``set_config`` (SQLAlchemy's asyncpg adapter, asyncpg's ``Transaction.start``).
- ``scope_affinity`` (``kerops.core.row_scope.ScopeAffinePool``): the pool hands a caller a
  connection that carries its row scope (SQLAlchemy's ``QueuePool`` and asyncio's queue).

``direct_reads``, ``audit_committed_state`` and the two row-scope ones (chosen per engine by
``kerops.core.db``) are code paths, not patches: they stay beside the
code they speed up (moving them would split one executor, or one audit diff, in two), and their
switch makes that code take SQLAlchemy's public path instead.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, get_args

from kerops.config import SpeedupName

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kerops.config import Settings

#: Every speed-up, by the name its switch uses.
NAMES: tuple[SpeedupName, ...] = get_args(SpeedupName)

#: The speed-ups that are code paths kept beside their code, each with how to switch it
#: (registered by that code, e.g. ``kerops.core.audit``: this package imports none of it).
_CODE_PATHS: dict[SpeedupName, Callable[[bool], None]] = {}


def code_path(name: SpeedupName, switch: Callable[[bool], None]) -> None:
    """Register how ``install`` switches the code path ``name`` on or off."""
    _CODE_PATHS[name] = switch


def enabled(settings: Settings, name: SpeedupName) -> bool:
    """Whether the speed-up ``name`` is switched on."""
    return name not in settings.speedups_off


def install(settings: Settings) -> frozenset[SpeedupName]:
    """Apply the process-wide speed-ups switched on, and take back those switched off; the names
    in effect. (FastAPI's helpers and the audit's choice are module globals: the last
    ``main.build_state`` decides for the process: the app's and the worker's both call it.)"""
    from kerops.speedups import fastapi_dependencies, fastapi_params

    patches: dict[SpeedupName, ModuleType] = {
        "fastapi_params": fastapi_params,
        "fastapi_dependencies": fastapi_dependencies,
    }
    on: set[SpeedupName] = set()
    for name, patch in patches.items():
        if not enabled(settings, name):
            patch.uninstall()
        elif patch.install():
            on.add(name)
    for name, switch in _CODE_PATHS.items():
        switch(enabled(settings, name))
        if enabled(settings, name):
            on.add(name)
    return frozenset(on)


def install_route_index(app: FastAPI, settings: Settings) -> bool:
    """Put the route index in front of the app router's loop, when switched on; whether it is."""
    from kerops.speedups import route_index

    if not enabled(settings, "route_index"):
        return False
    route_index.install(app)
    return True
