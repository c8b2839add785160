"""The two apps of ``rls_cost.py --http``, as uvicorn factories (configured by ``KEROPS_*``):
``rls_app`` as deployed, ``off_app`` with the scope plumbing taken out (it connects as the
tables' owner, so no policy applies either)."""

from __future__ import annotations

from fastapi import FastAPI

from kerops.core import row_scope
from kerops.main import create_app


def rls_app() -> FastAPI:
    """The app as deployed (its database URL names the service role)."""
    return create_app()


def off_app() -> FastAPI:
    """The app without the wall: no scope set on its connections."""
    app = create_app()
    db = app.state.kerops.db
    row_scope.uninstall(db.engine)
    db.reads.scoped = False
    return app
