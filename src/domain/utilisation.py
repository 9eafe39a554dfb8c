"""How full the chairs are: per resource (a master, a room) or per seat of `capacity`, and per day and
hour, the minutes open, booked inside opening hours, and free. Pure: the caller reads the visits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from domain.schedule import WeekHours

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class Occupied:
    start: datetime
    end: datetime
    resource: int | None = None  # with Online Booking, the resource it takes


@dataclass
class Load:
    open_min: int = 0
    booked_min: int = 0

    @property
    def free_min(self) -> int:
        return max(0, self.open_min - self.booked_min)


@dataclass
class Utilisation:
    days: dict[str, dict[date, Load]] = field(default_factory=dict)  # resource key -> day -> load
    hours: dict[tuple[date, int], Load] = field(default_factory=dict)  # (day, hour) -> load over resources


def _minutes(a: datetime, b: datetime) -> int:
    return max(0, int((b - a).total_seconds() // 60))


def _overlap(a: Span, b: Span) -> Span | None:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else None


def _seats(visits: Sequence[Occupied], keys: Sequence[str]) -> dict[str, list[Span]]:
    """Visits without a resource sat on the first seat free at their start (interval partitioning)."""
    taken: dict[str, list[Span]] = {k: [] for k in keys}
    busy_until: dict[str, datetime] = {}
    for visit in sorted(visits, key=lambda v: (v.start, v.end)):
        seat = next((k for k in keys if k not in busy_until or busy_until[k] <= visit.start), None)
        if seat is None:  # more overlapping visits than seats (booked over capacity): the seat freed first
            seat = min(keys, key=lambda k: busy_until[k])
        taken[seat].append((visit.start, visit.end))
        busy_until[seat] = max(busy_until.get(seat, visit.end), visit.end)
    return taken


def _by_day(spans: list[Span], tz: tzinfo) -> dict[date, list[Span]]:
    """A resource's visits by the local day they start on (each day reads only its own)."""
    days: dict[date, list[Span]] = {}
    for span in spans:
        days.setdefault(span[0].astimezone(tz).date(), []).append(span)
    return days


def utilisation(
    first: date,
    last: date,
    week: WeekHours,
    tz: tzinfo,
    visits: Iterable[Occupied],
    resources: Sequence[int] = (),
    capacity: int = 1,
) -> Utilisation:
    """Each resource's (or seat's: "seat 1"...) open, booked and free minutes, day by day from `first` to
    `last`, and the same summed over them hour by hour. Booked time outside opening hours is not counted."""
    found = list(visits)
    if resources:
        keys = [str(r) for r in resources]
        taken = {k: [(v.start, v.end) for v in found if str(v.resource) == k] for k in keys}
    else:
        keys = [f"seat {n}" for n in range(1, capacity + 1)]
        taken = _seats(found, keys)
    daily = {k: _by_day(spans, tz) for k, spans in taken.items()}
    report = Utilisation(days={k: {} for k in keys})
    day = first
    while day <= last:
        hours = week[day.weekday()]
        for key in keys:
            load = report.days[key].setdefault(day, Load())
            if hours is None:
                continue
            opened = datetime.combine(day, hours[0], tz)
            closed = datetime.combine(day, hours[1], tz) if hours[1] != time(0) else opened.replace(hour=23, minute=59)
            _count(report, day, load, (opened, closed), daily[key].get(day, []))
        day += timedelta(days=1)
    return report


def _count(report: Utilisation, day: date, load: Load, opened: Span, taken: list[Span]) -> None:
    hour_start = opened[0].replace(minute=0)
    while hour_start < opened[1]:
        bucket = _overlap(opened, (hour_start, hour_start + timedelta(hours=1)))
        if bucket is not None:
            hourly = report.hours.setdefault((day, hour_start.hour), Load())
            open_min = _minutes(*bucket)
            booked = sum(_minutes(*o) for v in taken if (o := _overlap(bucket, v)) is not None)
            booked = min(booked, open_min)
            hourly.open_min += open_min
            hourly.booked_min += booked
            load.open_min += open_min
            load.booked_min += booked
        hour_start += timedelta(hours=1)
