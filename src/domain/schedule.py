"""Opening hours: one type for a day's and a week's, and the one test of whether a moment is inside them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

OpenHours = tuple[time, time]  # opens, closes
MIDNIGHT = time(23, 59)
# Monday..Sunday; None is a closed day.
WeekHours = Sequence[OpenHours | None]


def hours_on(moment: datetime, week: WeekHours) -> OpenHours | None:
    return week[moment.weekday()]


def is_open(moment: datetime, week: WeekHours) -> bool:
    """True when `moment` (in the business's time zone) falls inside that day's hours."""
    opened = hours_on(moment, week)
    if opened is None:
        return False
    # "24:00" is stored as 23:59 (a time cannot be 24:00), so a day open till midnight includes 23:59.
    return opened[0] <= moment.time() and (moment.time() < opened[1] or opened[1] == MIDNIGHT)
