"""A burst of reminders due at once is spread before its moment at the bot's pace, so none is late and
none is more than a minute early; a lone reminder goes exactly at its moment (issue 25)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from domain import DueReminder
from gateway.usecases.outreach.pacing import EARLY_AT_MOST, send_moments

DUE = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def burst(count: int, bot: str = "salon:telegram", first_id: int = 1) -> list[DueReminder]:
    return [DueReminder(first_id + n, first_id + n, "24h", DUE, bot) for n in range(count)]


def test_a_lone_reminder_goes_at_its_moment():
    assert send_moments(burst(1), 25.0) == {1: DUE}


def test_a_burst_the_pace_can_carry_ends_on_time_and_starts_as_early_as_it_must():
    moments = send_moments(burst(1000), 25.0)
    times = sorted(moments.values())
    assert times[-1] == DUE and times[0] == DUE - timedelta(seconds=999 / 25)
    assert all(b - a >= timedelta(seconds=1 / 25) for a, b in itertools.pairwise(times))


def test_a_burst_too_big_for_a_minute_is_never_more_than_a_minute_early():
    moments = send_moments(burst(2000), 25.0)
    assert min(moments.values()) == DUE - EARLY_AT_MOST and max(moments.values()) == DUE


def test_each_bot_keeps_its_own_pace():
    moments = send_moments(burst(50) + burst(50, "spa:telegram", first_id=100), 25.0)
    assert sorted(moments.values())[0] == DUE - timedelta(seconds=49 / 25)
    assert sum(1 for at in moments.values() if at == DUE) == 2  # the last of each bot's run


def test_spread_out_reminders_are_not_moved():
    dues = [DueReminder(n, n, "24h", DUE + timedelta(seconds=10 * n), "salon:telegram") for n in range(5)]
    assert send_moments(dues, 25.0) == {d.id: d.due_at for d in dues}
