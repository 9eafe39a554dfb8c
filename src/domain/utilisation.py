"""How full the chairs are: per resource (a master, a room) or per seat of `capacity`, and per day and
hour, the minutes open, booked inside opening hours, and free. Pure: the caller reads the visits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

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


Minutes = tuple[int, int]  # from, to: minutes after the local day's midnight


def _by_day(spans: list[Span], tz: tzinfo) -> dict[date, list[Minutes]]:
    """A resource's visits by the local day they start on, in minutes of that day (a day reads only its own)."""
    days: dict[date, list[Minutes]] = {}
    for begins, ends in spans:
        local = begins.astimezone(tz)
        start = local.hour * 60 + local.minute
        days.setdefault(local.date(), []).append((start, start + _minutes(begins, ends)))
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
        taken: dict[str, list[Span]] = {k: [] for k in keys}
        for visit in found:
            if str(visit.resource) in taken:
                taken[str(visit.resource)].append((visit.start, visit.end))
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
            closes = hours[1].hour * 60 + hours[1].minute or 24 * 60  # closing at 00:00 is the day's end
            _count(report, day, load, (hours[0].hour * 60 + hours[0].minute, closes), daily[key].get(day, []))
        day += timedelta(days=1)
    return report


def _count(report: Utilisation, day: date, load: Load, opened: Minutes, taken: list[Minutes]) -> None:
    for hour in range(opened[0] // 60, (opened[1] + 59) // 60):
        low, high = max(opened[0], hour * 60), min(opened[1], hour * 60 + 60)
        if low >= high:
            continue
        booked = min(high - low, sum(max(0, min(high, end) - max(low, start)) for start, end in taken))
        hourly = report.hours.setdefault((day, hour), Load())
        hourly.open_min += high - low
        hourly.booked_min += booked
        load.open_min += high - low
        load.booked_min += booked
