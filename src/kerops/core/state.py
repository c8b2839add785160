"""Process-wide services of one app instance, kept on ``app.state.kerops``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from kerops.config import Settings
from kerops.core.db import Database
from kerops.core.jobs import JobEngine
from kerops.core.mail import Sender
from kerops.core.ratelimit import RateLimiter
from kerops.core.security import Security

T = TypeVar("T")


@dataclass
class AppState:
    """Everything a request may need besides its session."""

    settings: Settings
    db: Database
    security: Security
    limiter: RateLimiter
    sender: Sender
    jobs: JobEngine
    #: What the modules keep per app instance, by class (e.g. the diagnosis' built indexes).
    services: dict[type[Any], object] = field(default_factory=dict)

    def service(self, cls: type[T]) -> T:
        """The ``cls`` this app instance keeps, made with ``cls()`` on first use."""
        found = self.services.get(cls)
        if found is None:
            found = self.services[cls] = cls()
        return cast(T, found)
