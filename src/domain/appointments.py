"""Visits: their states, the free slots around a wished time, and when a reminder may go out.

Pure rules over aware datetimes: the callers bring the clock, the hours and the visits already booked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from domain.schedule import WeekHours, why_not_bookable


class VisitStatus(StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    VISITED = "visited"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


# A visit that still takes its slot and is still ahead of the client: the only kind reminded.
ACTIVE = frozenset({VisitStatus.BOOKED, VisitStatus.CONFIRMED})

SLOT_STEP = timedelta(minutes=30)
MIN_LEAD = timedelta(minutes=30)  # a slot offered starts at least this long after the offer
SEARCH_SPAN = timedelta(days=7)  # how far either side of the wished time slots are looked for


@dataclass(frozen=True)
class Busy:
    """A visit holding a place: [start, end)."""

    start: datetime
    end: datetime


def overlapping(start: datetime, end: datetime, busy: Iterable[Busy]) -> int:
    return sum(1 for b in busy if b.start < end and start < b.end)


def free_slots(
    wished: datetime,
    duration: timedelta,
    now: datetime,
    week: WeekHours,
    busy: Sequence[Busy],
    capacity: int,
    count: int = 3,
    min_lead: timedelta = MIN_LEAD,
) -> list[datetime]:
    """Up to `count` starts nearest to `wished` (in the business's zone), `min_lead` or more from now,
    where a visit of `duration` fits the opening hours and fewer than `capacity` visits overlap it;
    in time order."""
    zone = wished.tzinfo
    earliest = now.astimezone(zone) + min_lead
    first = (wished - SEARCH_SPAN).replace(minute=0, second=0, microsecond=0)
    candidates: list[datetime] = []
    cursor = first
    while cursor <= wished + SEARCH_SPAN:
        if (
            cursor >= earliest
            and why_not_bookable(cursor, None, now, week, duration) is None
            and overlapping(cursor, cursor + duration, busy) < capacity
        ):
            candidates.append(cursor)
        cursor += SLOT_STEP
    # nearest first; at equal distance the later one, since the client asked for at least `wished`
    candidates.sort(key=lambda s: (abs((s - wished).total_seconds()), s < wished))
    return sorted(candidates[:count])


@dataclass(frozen=True)
class QuietHours:
    """Tenant-local hours in which nothing bot-initiated is sent; may run over midnight (21:00-09:00)."""

    begins: time
    ends: time

    def contains(self, moment: datetime) -> bool:
        t = moment.time()
        if self.begins <= self.ends:
            return self.begins <= t < self.ends
        return t >= self.begins or t < self.ends

    def end_after(self, moment: datetime) -> datetime:
        """When the quiet hours that hold `moment` end."""
        end = datetime.combine(moment.date(), self.ends, moment.tzinfo)
        return end if end > moment else end + timedelta(days=1)

    def begin_before(self, moment: datetime) -> datetime:
        """When the quiet hours that hold `moment` began."""
        begin = datetime.combine(moment.date(), self.begins, moment.tzinfo)
        return begin if begin <= moment else begin - timedelta(days=1)


QUIET_MARGIN = timedelta(minutes=30)  # a reminder moved past quiet hours still lands this long before the visit
JUST_BEFORE = timedelta(minutes=1)


def send_moment(due: datetime, visit_start: datetime, quiet: QuietHours | None) -> datetime:
    """When a reminder due at `due` (tenant-local) goes out: at `due`, or if that is inside quiet hours,
    at their end when that is still `QUIET_MARGIN` before the visit, else just before they began."""
    if quiet is None or not quiet.contains(due):
        return due
    after = quiet.end_after(due)
    if after <= visit_start - QUIET_MARGIN:
        return after
    return quiet.begin_before(due) - JUST_BEFORE


def reminder_moments(
    visit_start: datetime, offsets: Sequence[tuple[str, timedelta]], now: datetime, quiet: QuietHours | None
) -> list[tuple[str, datetime]]:
    """(kind, send moment) for each (kind, offset before the visit) still ahead of `now`; one whose
    moment has passed is skipped."""
    planned = []
    for kind, offset in offsets:
        moment = send_moment(visit_start - offset, visit_start, quiet)
        if now < moment < visit_start:
            planned.append((kind, moment))
    return planned


def duration_label(value: timedelta) -> str:
    """`90s`, `15m`, `2h`, `7d`: the largest unit that divides it."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `7d` -> a timedelta; anything else is a ValueError."""
    text = text.strip()
    sizes = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in sizes or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise ValueError(f"{text!r}: expected a duration such as 90s, 15m, 2h or 7d")
    return timedelta(seconds=int(text[:-1]) * sizes[text[-1]])


WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class SlotRule:
    """One line of a resource's slot schedule (Bitrix24 Online Booking): on these weekdays, visits may
    start every `size` minutes from `start` until `end` (minutes of the day, in `zone`)."""

    start: int
    end: int
    weekdays: frozenset[int]  # 0 = Monday
    size: int
    zone: tzinfo

    def starts(self, first: date, last: date, duration: timedelta) -> list[datetime]:
        found = []
        day = first
        while day <= last:
            if day.weekday() in self.weekdays:
                minute = self.start
                while minute + duration.total_seconds() / 60 <= self.end and minute < 24 * 60:
                    found.append(datetime.combine(day, time(minute // 60, minute % 60), self.zone))
                    minute += max(self.size, 5)
            day += timedelta(days=1)
        return found


def resource_slots(
    wished: datetime,
    duration: timedelta,
    now: datetime,
    schedules: Mapping[int, Sequence[SlotRule]],
    busy: Mapping[int, Sequence[Busy]],
    count: int = 3,
    min_lead: timedelta = MIN_LEAD,
) -> list[tuple[datetime, int]]:
    """Up to `count` (start, resource) nearest to `wished`, one per start: starts the resources' slot
    schedules offer, `min_lead` or more from now, where the resource has nothing overlapping."""
    earliest = now + min_lead
    first, last = (wished - SEARCH_SPAN).date(), (wished + SEARCH_SPAN).date()
    free: dict[datetime, int] = {}
    for resource, rules in schedules.items():
        taken = busy.get(resource, ())
        for rule in rules:
            for start in rule.starts(first, last, duration):
                if start >= earliest and start not in free and overlapping(start, start + duration, taken) == 0:
                    free[start] = resource
    nearest = sorted(free, key=lambda s: (abs((s - wished).total_seconds()), s < wished))[:count]
    return [(start.astimezone(wished.tzinfo), free[start]) for start in sorted(nearest)]
