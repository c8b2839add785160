"""Rate limits (the ``limits`` library): in memory by default, Redis by setting."""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from kerops.core.errors import TooManyRequests
from kerops.core.i18n import gettext


class RateLimiter:
    """Moving-window limits keyed by arbitrary strings (account, client address)."""

    def __init__(self, storage_url: str) -> None:
        url = storage_url
        options: dict[str, str] = {}
        if url.startswith(("redis://", "rediss://")):
            url = "async+" + url
            # The async Redis storage defaults to coredis; use redis-py, the declared dependency.
            options["implementation"] = "redispy"
        elif url.startswith("memory://"):
            url = "async+memory://"
        self.storage = storage_from_string(url, **options)
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, limit: str, namespace: str, key: str) -> None:
        """Count one attempt; raise 429 with Retry-After once the limit is passed."""
        item = parse(limit)
        if not await self.limiter.hit(item, namespace, key.lower()):
            stats = await self.limiter.get_window_stats(item, namespace, key.lower())
            raise TooManyRequests(
                retry_after=math.ceil(stats.reset_time - time.time()),
                detail=gettext("Too many attempts; try again later."),
            )

    async def reset(self) -> None:
        """Forget every counter (tests and operations)."""
        await self.storage.reset()  # type: ignore[misc]
