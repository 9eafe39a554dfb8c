"""The tests' business clock: it starts at a pinned moment and runs at the real pace.

No test reads the wall clock for a business decision («завтра», opening hours, quiet hours, the
weekday): those follow this clock, so the suite gives the same answers on any day and at any hour.
Durations still pass for real (a worker's poll, a 1 s agenda tick), because the clock moves with
`time.monotonic()`, which a test can jump forward with `move_to`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Novosibirsk")  # the test salon's zone (tests/conftest.py)
# A Wednesday at noon in the test salon: «завтра» is an open Thursday, «в пятницу» two days ahead
PINNED = datetime(2026, 12, 2, 12, 0, tzinfo=TZ)


class BusinessClock:
    """`clock()` is PINNED plus the real time passed since the clock was made (or last moved)."""

    def __init__(self, start: datetime = PINNED) -> None:
        self._start = start.astimezone(UTC)
        self._since = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._since)

    def move_to(self, moment: datetime) -> None:
        self._start, self._since = moment.astimezone(UTC), time.monotonic()

    def advance(self, delta: timedelta) -> None:
        self.move_to(self() + delta)

    def local(self) -> datetime:
        return self().astimezone(TZ)

    def timestamp(self) -> int:
        """What a platform would stamp on a message sent now (seconds since the epoch)."""
        return int(self().timestamp())


_running = BusinessClock()


def running() -> BusinessClock:
    """The clock of the gateway a test runs now (tests/conftest.py `gateway` sets it)."""
    return _running


def set_running(clock: BusinessClock) -> None:
    global _running
    _running = clock


def stamp() -> int:
    """The `date` a platform would put on a message sent now, by the running gateway's clock."""
    return _running.timestamp()


def tomorrow(at_hour: int, minute: int = 0, clock: BusinessClock | None = None) -> datetime:
    """The next local day of `clock` (PINNED when none) at the given time."""
    today = (clock or BusinessClock()).local()
    return (today + timedelta(days=1)).replace(hour=at_hour, minute=minute, second=0, microsecond=0)
