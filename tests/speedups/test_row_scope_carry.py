"""Speed-ups ``scope_with_begin`` and ``scope_affinity`` (``kerops.core.row_scope``): the
SQLAlchemy, asyncpg and asyncio internals they rely on are still there with the shape they
rely on. What they do (and that a statement never runs in another caller's scope) is proven
on PostgreSQL by ``tests/core/test_row_scope.py``."""

from __future__ import annotations

import asyncio
import inspect

import asyncpg
from asyncpg.transaction import Transaction
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_cursor,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool
from sqlalchemy.util.queue import AsyncAdaptedQueue

from kerops.core import row_scope
from tests.speedups.conftest import shape


def _source(fn: object) -> str:
    return inspect.getsource(fn)  # type: ignore[arg-type]


def test_the_adapter_begins_a_transaction_as_the_begin_carrier_expects() -> None:
    # The adapter starts its transaction lazily, before its first statement, when it has none
    # and is not in AUTOCOMMIT; the carrier starts it first, the same way.
    assert "self._transaction = None" in _source(AsyncAdapt_asyncpg_connection.__init__)
    execute = _source(AsyncAdapt_asyncpg_cursor._prepare_and_execute)
    assert "if adapt_connection._transaction is None" in execute
    assert "await adapt_connection._start_transaction()" in execute
    start = _source(AsyncAdapt_asyncpg_connection._start_transaction)
    assert inspect.iscoroutinefunction(AsyncAdapt_asyncpg_connection._start_transaction)
    assert 'self.isolation_level == "autocommit"' in start
    assert "self._transaction = transaction" in start
    # asyncpg sends the BEGIN as a simple query through ``Connection.execute``.
    assert "await self._connection.execute(query)" in _source(Transaction.start)
    assert shape(asyncpg.Connection.execute) == shape(row_scope.ScopedConnection.execute)
    assert callable(asyncpg.Connection.is_in_transaction)


def test_the_pool_and_queue_internals_the_affine_pool_uses_are_there() -> None:
    assert issubclass(row_scope.ScopeAffinePool, AsyncAdaptedQueuePool)
    assert AsyncAdaptedQueuePool._queue_class is AsyncAdaptedQueue
    assert "self._pool = self._queue_class(" in _source(QueuePool.__init__)
    assert "self._overflow = 0 - pool_size" in _source(QueuePool.__init__)
    for name in ("_do_get", "_inc_overflow", "_dec_overflow", "_create_connection"):
        assert callable(getattr(QueuePool, name)), name
    # SQLAlchemy's asyncio queue keeps an ``asyncio.Queue`` built lazily in ``_queue``; asyncio's
    # queue takes an item with ``_get`` from its deque ``_queue``.
    assert "_queue" in vars(AsyncAdaptedQueue)
    assert "self._get()" in _source(asyncio.Queue.get_nowait)
    assert "self._queue.popleft()" in _source(asyncio.Queue._get)
    assert "self._queue = collections.deque()" in _source(asyncio.Queue._init)
