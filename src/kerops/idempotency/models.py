"""Idempotency keys: the first answer to a POST sent with an ``Idempotency-Key`` header."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base


class IdempotencyKey(Base):
    """A key a caller sent with a POST, the request it named and the answer it got.

    Written in the transaction of the request's own changes, so a key is recorded exactly when
    those changes are committed (a failed or rolled-back request leaves no key behind)."""

    __tablename__ = "idempotency_keys"
    #: Bookkeeping of the HTTP layer, not a change of anybody's data.
    __audited__: ClassVar[bool] = False
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    #: Who sent it: ``user:<id>`` for a signed-in user, ``api_key:<id>`` for an API key.
    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: SHA-256 (hex) of the method, path, query and body of the request that used the key first.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    #: The answer's headers a replay repeats (content type, location, ...), lower-case names.
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
