"""Opening hours: one type for a day's and a week's, and the one test of whether a moment is inside them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from enum import StrEnum

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


class Unbookable(StrEnum):
    """Why a time a client asked for cannot be booked."""

    NO_SUCH_DATE = "no_such_date"  # "31 февраля"
    PAST = "past"
    CLOSED = "closed"  # a day the business does not open
    OUTSIDE_HOURS = "outside_hours"  # "в 3 ночи" at a salon open 10-21
    TOO_FAR = "too_far"  # past the booking horizon


def why_not_bookable(
    start: datetime,
    end: datetime | None,
    now: datetime,
    week: WeekHours,
    duration: timedelta,
    horizon: timedelta = timedelta(days=180),
) -> Unbookable | None:
    """None when a visit can start at `start` (or somewhere in the window `start`..`end`), else why not."""
    latest = end or start
    if latest <= now:
        return Unbookable.PAST
    if start - now > horizon:
        return Unbookable.TOO_FAR
    opened = hours_on(start, week)
    if opened is None:
        return Unbookable.CLOSED
    day = start.date()
    opens = datetime.combine(day, opened[0], start.tzinfo)
    closes = datetime.combine(day, opened[1], start.tzinfo) + (
        timedelta(minutes=1) if opened[1] == MIDNIGHT else timedelta()
    )
    if end is None:
        return None if opens <= start and start + duration <= closes else Unbookable.OUTSIDE_HOURS
    # a window ("завтра вечером"): bookable if a visit fits where it meets the hours, after now
    first = max(start, opens, now)
    return None if first + duration <= min(end, closes) else Unbookable.OUTSIDE_HOURS


def after_open_time(start: datetime, work: timedelta, week: WeekHours, horizon_days: int = 14) -> datetime:
    """When `work` of opening time has passed since `start` (aware, in the business's zone): a hand-off at
    20:55 with 15 minutes, at a salon open 10-21, is due at 10:10 the next open morning."""
    left, moment = work, start
    for _ in range(horizon_days + 1):
        opened = hours_on(moment, week)
        if opened is not None:
            day = moment.date()
            opens = datetime.combine(day, opened[0], start.tzinfo)
            closes = datetime.combine(day, opened[1], start.tzinfo) + (
                timedelta(minutes=1) if opened[1] == MIDNIGHT else timedelta()
            )
            begin = max(moment, opens)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        moment = datetime.combine(moment.date() + timedelta(days=1), time(0), start.tzinfo)
    return start + work  # never open in the horizon: counted as plain time
