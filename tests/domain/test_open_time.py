"""A deadline counted in opening hours: what a manager's hand-off to-do is due by."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain import after_open_time

NSK = ZoneInfo("Asia/Novosibirsk")
# Mon-Sat 10-21, Sunday closed (the test salon's hours)
WEEK = [(time(10), time(21))] * 6 + [None]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=NSK)  # 2026-11-30 is a Monday


def test_within_the_day_it_is_plain_time():
    assert after_open_time(at(30, 12), timedelta(minutes=15), WEEK) == at(30, 12, 15)


def test_near_closing_the_rest_runs_from_the_next_opening():
    # 20:55 Wednesday, 15 minutes: 5 today, 10 from 10:00 Thursday
    assert after_open_time(datetime(2026, 12, 2, 20, 55, tzinfo=NSK), timedelta(minutes=15), WEEK) == datetime(
        2026, 12, 3, 10, 10, tzinfo=NSK
    )


def test_at_night_it_starts_at_the_opening_and_a_closed_sunday_is_skipped():
    assert after_open_time(at(30, 3), timedelta(minutes=15), WEEK) == at(30, 10, 15)
    saturday_late = datetime(2026, 12, 5, 22, 0, tzinfo=NSK)
    assert after_open_time(saturday_late, timedelta(minutes=15), WEEK) == datetime(2026, 12, 7, 10, 15, tzinfo=NSK)


def test_longer_than_a_day_spans_days_and_a_business_never_open_counts_plain_time():
    # 12 h from Monday 12:00: 9 h Monday, 3 h Tuesday
    assert after_open_time(at(30, 12), timedelta(hours=12), WEEK) == datetime(2026, 12, 1, 13, 0, tzinfo=NSK)
    assert after_open_time(at(30, 12), timedelta(minutes=15), [None] * 7) == at(30, 12, 15)
