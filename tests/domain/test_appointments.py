"""Free slots around a wished time, and when a reminder may go out around quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import Busy, QuietHours, free_slots, parse_duration, reminder_moments, send_moment

TZ = ZoneInfo("Europe/Moscow")
WEEK = [(time(10), time(21))] * 6 + [None]  # closed on Sunday
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)  # a Monday
HOUR = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def test_the_wished_time_itself_comes_first_when_it_is_free():
    assert free_slots(at(2, 15), HOUR, NOW, WEEK, [], capacity=1) == [at(2, 14, 30), at(2, 15), at(2, 15, 30)]


def test_a_full_time_is_skipped_and_capacity_counts_overlaps():
    busy = [Busy(at(2, 15), at(2, 16))]
    # one chair: 15:00 and the half hours overlapping the visit are taken
    assert free_slots(at(2, 15), HOUR, NOW, WEEK, busy, capacity=1) == [at(2, 14), at(2, 16), at(2, 16, 30)]
    # two chairs: still free
    assert at(2, 15) in free_slots(at(2, 15), HOUR, NOW, WEEK, busy, capacity=2)


def test_slots_respect_hours_closed_days_and_the_lead_time():
    # Saturday evening close to closing time: the visit must end by 21:00, Sunday is closed
    slots = free_slots(at(5, 20, 30), HOUR, NOW, WEEK, [], capacity=1)
    assert slots == [at(5, 19), at(5, 19, 30), at(5, 20)]
    # now 9:00 on Monday: nothing before 9:30 and nothing before opening
    assert free_slots(NOW, HOUR, NOW, WEEK, [], capacity=1)[0] == datetime(2026, 11, 30, 10, 0, tzinfo=TZ)


QUIET = QuietHours(time(21), time(9))


def test_a_reminder_inside_quiet_hours_goes_at_their_end_or_just_before_they_begin():
    assert send_moment(at(2, 15), at(3, 15), QUIET) == at(2, 15)  # outside: as due
    # due 23:00, the visit at 11:00: quiet hours end at 9:00, two hours before it
    assert send_moment(at(2, 23), at(3, 11), QUIET) == at(3, 9)
    # due 7:15, the visit at 9:15: 9:00 is less than 30 min before it, so just before 21:00 the evening before
    assert send_moment(at(3, 7, 15), at(3, 9, 15), QUIET) == at(2, 20, 59)
    # a quiet span inside one day
    lunch = QuietHours(time(13), time(14))
    assert send_moment(at(2, 13, 30), at(2, 18), lunch) == at(2, 14)


def test_reminders_whose_moment_has_passed_when_the_visit_is_booked_are_skipped():
    offsets = [("24h", timedelta(hours=24)), ("2h", timedelta(hours=2))]
    booked_at = NOW + timedelta(hours=4)  # Monday 13:00, for Tuesday noon: the 24 h moment has passed
    assert reminder_moments(at(1, 12), offsets, booked_at, None) == [("2h", at(1, 10))]
    assert reminder_moments(at(3, 12), offsets, NOW, None) == [("24h", at(2, 12)), ("2h", at(3, 10))]


@pytest.mark.parametrize("text", ["", "2", "h", "0h", "-1d", "1.5h", "2w"])
def test_a_duration_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_in_every_unit():
    assert [parse_duration(t) for t in ("90s", "15m", "2h", "7d")] == [
        timedelta(seconds=90),
        timedelta(minutes=15),
        timedelta(hours=2),
        timedelta(days=7),
    ]
