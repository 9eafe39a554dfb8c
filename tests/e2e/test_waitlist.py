"""The waitlist end to end: two clients for whom no offered time suits wait for the time they asked; a
cancellation frees it; it goes to the first who joined, then, when she lets it pass, to the second, who
takes it; the first pressing late finds it taken. Telegram webhook -> Redis -> worker -> the sandbox
portal and the business store (SQLite and PostgreSQL), on a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.conftest import gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import (
    CHAT,
    HEADERS,
    OTHER_CHAT,
    Clock,
    book,
    buttons,
    lifecycle_config,
    message,
    press,
    said,
    sent,
    visit_day,
)
from tests.e2e.test_bring_back import texts_with, visit_of
from tests.e2e.test_owner_numbers import OWNER, PASSWORD

THIRD_CHAT = 5512345690
OFFERED = "Освободилось время"


async def joins(client: Any, telegram: Any, chat: int, day: Any, first_id: int) -> None:
    """She asks for `day`, which is taken; the reply offers times nearby and a way to wait; she waits."""
    text = f"Хочу маникюр {said(day)}, мой номер 8 913 000-00-{chat % 100:02d}"
    await client.post("/webhooks/salon/telegram", json=message(first_id, text, chat), headers=HEADERS)
    await wait_for(lambda: len(sent(telegram, chat)) == 1)
    offered = buttons(sent(telegram, chat)[0])
    assert f"b:{day:%Y-%m-%dT%H:%M}" not in offered and offered[-1] == f"w:{day:%Y-%m-%dT%H:%M}", offered
    await client.post("/webhooks/salon/telegram", json=press(first_id + 1, offered[-1], chat), headers=HEADERS)
    await wait_for(lambda: len(texts_with(telegram, "лист ожидания", chat)) == 1)
    assert "будет ждать вас 10 мин" in texts_with(telegram, "лист ожидания", chat)[0]["text"]


async def test_a_freed_slot_goes_to_the_waiting_in_the_order_they_joined_and_the_first_to_take_it_gets_it(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    lifecycle = {"waitlist": {"offer_for": "10m", "around": "2h"}}
    config = lifecycle_config(make_config, portal, telegram, lifecycle=lifecycle, dashboard={"password": PASSWORD})
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day, chat=CHAT, first_id=1)
        visit = await wait_for_async(lambda: visit_of(runtime, CHAT))
        await joins(client, telegram, OTHER_CHAT, day, 100)
        await joins(client, telegram, THIRD_CHAT, day, 200)

        # the booked client cancels: the first to join is offered the time, and only she
        await client.post("/webhooks/salon/telegram", json=press(3, f"v:x:{visit.id}", CHAT), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, OFFERED, OTHER_CHAT)) == 1, limit=20)
        first_offer = texts_with(telegram, OFFERED, OTHER_CHAT)[0]
        (slot,) = buttons(first_offer)
        assert slot.startswith(f"b:{day:%Y-%m-%dT%H:%M}|w") and "10 мин" in first_offer["text"]
        assert not texts_with(telegram, OFFERED, THIRD_CHAT)

        # she lets it pass: after offer_for the next in line gets it, and takes it
        clock.move_to(clock() + timedelta(minutes=10, seconds=5))
        await wait_for(lambda: len(texts_with(telegram, OFFERED, THIRD_CHAT)) == 1, limit=20)
        (third_slot,) = buttons(texts_with(telegram, OFFERED, THIRD_CHAT)[0])
        # both press at once, the first her old offer: one gets the time, the other is offered others
        await asyncio.gather(
            client.post("/webhooks/salon/telegram", json=press(206, third_slot, THIRD_CHAT), headers=HEADERS),
            client.post("/webhooks/salon/telegram", json=press(150, slot, OTHER_CHAT), headers=HEADERS),
        )
        both = (OTHER_CHAT, THIRD_CHAT)
        await wait_for(lambda: sum(len(texts_with(telegram, "Вы записаны", c)) for c in both) == 1)
        await wait_for(lambda: sum(len(texts_with(telegram, "только что заняли", c)) for c in both) == 1)
        winners = await wait_for_async(lambda: _booked(runtime, both))
        assert [(v.start_at, v.status) for v in winners] == [(day, "booked")]
        assert len(texts_with(telegram, OFFERED, OTHER_CHAT)) == 1  # offered once, not again

        async def counted() -> Any:
            total = (await client.get("/api/salon/analytics", headers=OWNER)).json()["total"]
            return total if total["waitlist_filled"] == 1 else None

        await wait_for_async(counted, limit=20)


async def _booked(runtime: Any, chats: tuple[int, ...]) -> list[Any]:
    """The visits the chats hold (a deal may not be made yet)."""
    from gateway.store.sql.visits import latest_visit
    from tests.e2e.test_appointments import store_of

    found = [await latest_visit(store_of(runtime), "salon", f"salon:telegram:{chat}") for chat in chats]
    return [visit for visit in found if visit is not None]
