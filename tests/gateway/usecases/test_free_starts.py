"""The start times the bot offers when it asks for a time: inside opening hours, the whole visit too."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from gateway.usecases.visits.dialogue import free_starts

TZ = ZoneInfo("Asia/Novosibirsk")
WEEKDAYS = (time(10), time(21))
WEEK = [WEEKDAYS] * 5 + [(time(10), time(18)), None]  # Monday..Friday, Saturday, closed on Sunday


def test_in_the_evening_no_start_runs_past_closing_or_midnight():
    evening = datetime(2026, 11, 30, 19, 3, tzinfo=TZ)  # a Monday
    starts = free_starts(evening, WEEK, duration_min=60)
    # 21:00 and 23:00 would end at 22:00 and 00:00: the first start is tomorrow's opening
    assert starts == [datetime(2026, 12, 1, h, 0, tzinfo=TZ) for h in (10, 11, 12)]


def test_a_start_that_ends_at_closing_is_offered():
    afternoon = datetime(2026, 11, 30, 18, 0, tzinfo=TZ)
    assert free_starts(afternoon, WEEK, duration_min=60, count=2) == [
        datetime(2026, 11, 30, 19, 0, tzinfo=TZ),
        datetime(2026, 11, 30, 20, 0, tzinfo=TZ),
    ]
