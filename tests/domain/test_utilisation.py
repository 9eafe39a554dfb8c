"""The masters' load worked out by hand: seats filled in order, time outside opening hours not counted,
closed days open for nothing, resources kept apart."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from domain.utilisation import Occupied, utilisation

NSK = ZoneInfo("Asia/Novosibirsk")
WEEK = [(time(10), time(21))] * 6 + [None]  # Monday to Saturday 10-21, Sunday closed
MONDAY, SUNDAY = date(2026, 12, 7), date(2026, 12, 6)


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute), NSK)


def test_seats_fill_in_order_and_only_opening_hours_count():
    visits = [
        Occupied(at(10), at(11)),
        Occupied(at(10, 30), at(11, 30)),  # overlaps the first: the second seat
        Occupied(at(20, 30), at(21, 30)),  # half of it after closing
    ]
    load = utilisation(SUNDAY, MONDAY, WEEK, NSK, visits, capacity=2)
    first, second = load.days["seat 1"][MONDAY], load.days["seat 2"][MONDAY]
    assert (first.open_min, first.booked_min, first.free_min) == (660, 60 + 30, 570)
    assert (second.open_min, second.booked_min, second.free_min) == (660, 60, 600)
    assert load.days["seat 1"][SUNDAY].open_min == 0  # closed
    assert (load.hours[(MONDAY, 10)].open_min, load.hours[(MONDAY, 10)].booked_min) == (120, 60 + 30)
    assert load.hours[(MONDAY, 11)].booked_min == 30 and load.hours[(MONDAY, 20)].booked_min == 30
    assert (MONDAY, 21) not in load.hours and load.hours[(MONDAY, 15)].free_min == 120


def test_resources_keep_their_own_visits():
    visits = [Occupied(at(12), at(14), resource=7), Occupied(at(12), at(13), resource=8)]
    load = utilisation(MONDAY, MONDAY, WEEK, NSK, visits, resources=[7, 8, 9])
    assert [load.days[k][MONDAY].booked_min for k in ("7", "8", "9")] == [120, 60, 0]
    assert load.hours[(MONDAY, 12)].booked_min == 120 and load.hours[(MONDAY, 12)].open_min == 180
