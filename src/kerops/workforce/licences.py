"""When a licence is valid: through its whole expiry date, in the calendar of the place.

An expiry date names a day, not an instant: a licence that expires on 10 March is good until
midnight between 10 and 11 March where the work is done (the ticket's locale), in Santiago when
no place is given (``LICENCE_TIMEZONE``). Compared with the UTC date instead, it would lapse at
21:00 (20:00 in summer) on its last day in Chile."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from kerops.core.types import utcnow

#: The calendar of licences when no place is named (the default timezone of a locale).
LICENCE_TIMEZONE = "America/Santiago"


def licence_day(instant: datetime | None = None, timezone: str | None = None) -> date:
    """The day ``instant`` (now by default) falls on in ``timezone``'s calendar (Santiago's by
    default): the day a licence's expiry date is compared with."""
    return (instant or utcnow()).astimezone(ZoneInfo(timezone or LICENCE_TIMEZONE)).date()


def valid_on(expires: date | None, day: date) -> bool:
    """Whether a licence expiring on ``expires`` (``None``: never) is valid on ``day``."""
    return expires is None or expires >= day
