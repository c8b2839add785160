"""Which errors are worth trying again: the database (or the way to it) was briefly unavailable.

A job that fails on one of these is run again with backoff (``KEROPS_JOB_RETRIES``); any other
error is a fault of the job or its data and is not retried.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

#: SQLSTATEs of PostgreSQL that a later attempt may not meet: serialization failure, deadlock,
#: lock not available (lock_timeout), query cancelled (statement_timeout).
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})
#: ... and the classes 08 (connection exception), 53 (insufficient resources) and 57P (operator
#: intervention: a shutdown, "cannot connect now").
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57P")

#: SQLite's result codes of a passing condition (another writer, I/O, an unopenable file).
_SQLITE_TRANSIENT = frozenset(
    {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL"}
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, the driver's error it wraps, and the errors it was raised from."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, sa_exc.DBAPIError) and isinstance(current.orig, BaseException):
            pending.append(current.orig)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)


def _verdict(error: BaseException) -> bool | None:
    """True or False when ``error`` itself decides; None to look further down the chain."""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(state, str) and state:
        return state in _TRANSIENT_SQLSTATES or state.startswith(_TRANSIENT_SQLSTATE_CLASSES)
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        # Extended codes name their primary one first: SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE.
        return "_".join(name.split("_")[:2]) in _SQLITE_TRANSIENT
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection free in time
        return True
    if isinstance(error, ConnectionError | TimeoutError | sa_exc.InterfaceError):
        return True  # refused, reset, timed out; the driver lost its connection
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError | PermissionError):
        return True  # the network (a host unreachable, a socket closed)
    return None


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a passing database failure, judged by the first error of its chain
    that tells (a SQLSTATE, a SQLite result code, a lost connection). A SQLAlchemy
    ``OperationalError`` that nothing in its chain explains counts as transient."""
    operational = False
    for current in _chain(error):
        verdict = _verdict(current)
        if verdict is not None:
            return verdict
        operational = operational or isinstance(current, sa_exc.OperationalError)
    return operational
