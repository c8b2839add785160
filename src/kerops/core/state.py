"""Process-wide services of one app instance, kept on ``app.state.kerops``."""

from __future__ import annotations

from dataclasses import dataclass, field

from kerops.config import Settings
from kerops.core.db import Database
from kerops.core.jobs import JobEngine
from kerops.core.mail import Sender
from kerops.core.ratelimit import RateLimiter
from kerops.core.security import Security
from kerops.operations.diagnosis_engine import IndexCache


@dataclass
class AppState:
    """Everything a request may need besides its session."""

    settings: Settings
    db: Database
    security: Security
    limiter: RateLimiter
    sender: Sender
    jobs: JobEngine
    #: Built diagnosis indexes by client (``KEROPS_DIAGNOSIS_INDEX_SECONDS``).
    diagnosis_cache: IndexCache = field(default_factory=IndexCache)
