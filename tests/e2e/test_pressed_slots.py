"""A slot button is what someone sent back, not what the bot offered: a crafted or stale one is checked
as a typed time is (past, a closed day, outside the hours, too far ahead, off the slot grid) and books
nothing (issue 26 #4)."""

from __future__ import annotations

import pytest

from gateway.store.sql.visits import latest_visit
from tests.conftest import gateway, wait_for
from tests.e2e.test_appointments import CHAT, HEADERS, lifecycle_config, press, sent, store_of

# The pinned clock is Wednesday 2 December 2026, 12:00 in Novosibirsk; the salon is closed on Sundays
# and opens 10:00-21:00 on weekdays.
REFUSED = [
    ("b:2026-12-01T15:00", "Эта запись уже неактуальна"),  # yesterday
    ("b:2026-12-06T03:00", "Эта запись уже неактуальна"),  # 03:00 on a closed Sunday
    ("b:2027-12-02T15:00", "Эта запись уже неактуальна"),  # a year ahead
    ("b:2026-12-03T23:59", "Эта запись уже неактуальна"),  # after closing, running past midnight
    ("b:2026-12-03T12:17", "Это время только что заняли"),  # off the grid: the nearest real starts instead
    # poison: the ends of the calendar, where shifting by the zone or a duration overflows (issue 26 #13)
    ("b:9999-12-31T23:59", "Эта запись уже неактуальна"),
    ("b:0001-01-01T00:00", "Эта запись уже неактуальна"),
    ("b:0001-01-01T00:00|n1", "Эта запись уже неактуальна"),
    ("b:9999-12-31T23:59|shaircut_men", "Эта запись уже неактуальна"),
    ("v:c:99999999999999999999999", "Эта запись уже неактуальна"),  # an id past any integer column
]


@pytest.mark.parametrize(("payload", "said"), REFUSED)
async def test_a_crafted_slot_button_books_nothing(make_config, portal, telegram, store_url, payload, said):
    config = lifecycle_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=press(1, payload), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 1)
        visit = await latest_visit(store_of(runtime), "salon", f"salon:telegram:{CHAT}")
    (reply,) = sent(telegram)
    assert said in reply["text"] and "Вы записаны" not in reply["text"]
    assert visit is None


async def test_a_slot_on_the_grid_within_the_hours_still_books(make_config, portal, telegram, store_url):
    config = lifecycle_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=press(1, "b:2026-12-03T15:00"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 1)
        visit = await latest_visit(store_of(runtime), "salon", f"salon:telegram:{CHAT}")
    assert "Вы записаны" in sent(telegram)[0]["text"]
    assert visit is not None and visit.start_at.isoformat() == "2026-12-03T08:00:00+00:00"
