"""The appointment lifecycle end to end: Telegram webhook -> Redis -> worker -> sandbox portal and the
business store (SQLite and PostgreSQL), with a clock the test moves forward instead of waiting a day."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.sandbox.telegram import TelegramSandbox
from gateway.store.sql.agenda import claim_reminder, due_reminders, planned_reminders, reminder_outcomes
from gateway.store.sql.visits import latest_visit
from gateway.usecases.visits.dialogue import MONTHS_GENITIVE
from tests.clock import PINNED, TZ, BusinessClock, stamp
from tests.conftest import SECRET, gateway, wait_for, wait_for_async

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
APP_TOKEN = "portal-app-token"
CHAT, OTHER_CHAT = 5512345678, 5587654321


Clock = BusinessClock  # the e2e tests' name for it


def visit_day() -> datetime:
    """A working day three or more days after the pinned moment (the test salon is closed on Sundays)."""
    day = PINNED + timedelta(days=3)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day.replace(hour=15, minute=0, second=0, microsecond=0)


def said(day: datetime) -> str:
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]} в {day:%H:%M}"


def message(update_id: int, text: str, chat: int = CHAT) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": stamp(),
            "text": text,
            "from": {"id": chat, "is_bot": False, "first_name": "Анна"},
            "chat": {"id": chat, "type": "private"},
        },
    }


def press(update_id: int, data: str, chat: int = CHAT) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": chat, "is_bot": False, "first_name": "Анна"},
            "message": {"message_id": 1, "date": 1, "chat": {"id": chat, "type": "private"}, "text": "..."},
            "chat_instance": "1",
            "data": data,
        },
    }


def own_contact(update_id: int, chat: int, phone: str = "+79131234567") -> dict[str, Any]:
    """The client shares their own number with Telegram's button: the contact's user_id is the sender's."""
    body = message(update_id, "", chat)
    del body["message"]["text"]
    body["message"]["contact"] = {"phone_number": phone, "first_name": "Анна", "user_id": chat}
    return body


def sent(telegram: TelegramSandbox, chat: int = CHAT) -> list[dict[str, Any]]:
    return [m for m in telegram.sent if m["method"] == "sendMessage" and m.get("chat_id") == str(chat)]


def buttons(entry: dict[str, Any]) -> list[str]:
    markup = json.loads(entry.get("reply_markup") or "{}")
    return [row[0]["callback_data"] for row in markup.get("inline_keyboard", [])]


def lifecycle_config(make_config: Callable[..., Any], portal: Any, telegram: TelegramSandbox, **extra: Any) -> Any:
    bitrix = {
        "webhook_url": portal.url,
        "rate_limit": {"burst": 50, "per_second": 20},
        "visit_field": "UF_CRM_VISIT_AT",
        "application_token": APP_TOKEN,
    }
    lifecycle = {"reminders": ["24h", "2h"], "quiet_hours": None, "poll_interval": "1s", **extra.pop("lifecycle", {})}
    return make_config(portal.url, telegram.base, bitrix=bitrix, lifecycle=lifecycle, **extra)


def event_form(event: str, deal_id: int, token: str = APP_TOKEN) -> dict[str, str]:
    return {
        "event": event,
        "data[FIELDS][ID]": str(deal_id),
        "ts": str(stamp() * 1000),
        "auth[domain]": "sandbox.bitrix24.local",
        "auth[application_token]": token,
    }


async def book(client: Any, telegram: TelegramSandbox, day: datetime, chat: int = CHAT, first_id: int = 1) -> str:
    """A client asks for `day` and presses the offered slot; returns the button they pressed."""
    await client.post(
        "/webhooks/salon/telegram",
        json=message(first_id, f"Хочу маникюр {said(day)}, мой номер 8 913 123-45-67", chat),
        headers=HEADERS,
    )
    await wait_for(lambda: len(sent(telegram, chat)) == 1)
    offer = sent(telegram, chat)[0]
    slot = f"b:{day:%Y-%m-%dT%H:%M}"
    assert slot in buttons(offer), (offer["text"], buttons(offer))
    await client.post("/webhooks/salon/telegram", json=press(first_id + 1, slot, chat), headers=HEADERS)
    await wait_for(lambda: len(sent(telegram, chat)) == 2)
    return slot


async def test_booked_in_the_chat_reminded_confirmed_moved_by_a_manager_and_cancelled(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        store = runtime.store
        assert store is not None
        await book(client, telegram, day)
        assert sent(telegram)[1]["text"].startswith("Вы записаны: Маникюр")
        await wait_for(lambda: any(d.get("UF_CRM_VISIT_AT") for d in portal.state.deals.values()))
        deal = next(iter(portal.state.deals.values()))
        assert datetime.fromisoformat(deal["UF_CRM_VISIT_AT"]) == day and deal["STAGE_ID"] == "PREPARATION"
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        assert visit.deal_id == int(deal["ID"]) and visit.status == "booked"
        planned = await planned_reminders(store_of(runtime), visit.id)
        assert [(kind, due.astimezone(TZ)) for kind, due in planned] == [
            ("24h", day - timedelta(hours=24)),
            ("2h", day - timedelta(hours=2)),
        ]

        # a day before the visit: the reminder, with its three buttons, once
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for(lambda: len(sent(telegram)) == 3)
        reminder = sent(telegram)[2]
        assert reminder["text"].startswith("Напоминаем о записи: Маникюр")
        assert buttons(reminder) == [f"v:c:{visit.id}", f"v:r:{visit.id}", f"v:x:{visit.id}"]
        await wait_for(lambda: any("Напоминание (24h" in c["COMMENT"] for c in portal.state.comments.values()))
        assert await reminder_outcomes(store, visit.id) == [("24h", "sent")]

        # confirmed from the reminder: the deal moves to the confirmed stage
        await client.post("/webhooks/salon/telegram", json=press(10, f"v:c:{visit.id}"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 4)
        assert sent(telegram)[3]["text"].startswith("Спасибо, ждём вас")
        await wait_for(lambda: portal.state.deals[visit.deal_id]["STAGE_ID"] == "PREPAYMENT_INVOICE")

        # a manager moves the visit in the portal; its outbound event reaches the gateway
        moved = day + timedelta(days=1, hours=1)
        if moved.weekday() == 6:
            moved += timedelta(days=1)
        portal.dispatch("crm.deal.update", {"id": visit.deal_id, "fields": {"UF_CRM_VISIT_AT": moved.isoformat()}})
        response = await client.post("/bitrix/salon/events", data=event_form("ONCRMDEALUPDATE", visit.deal_id))
        assert response.status_code == 200, response.text
        await wait_for(lambda: len(sent(telegram)) == 5)
        assert sent(telegram)[4]["text"].startswith("Ваша запись перенесена: Маникюр")
        replanned = await planned_reminders(store_of(runtime), visit.id)
        assert [(k, d.astimezone(TZ)) for k, d in replanned] == [
            ("24h", moved - timedelta(hours=24)),
            ("2h", moved - timedelta(hours=2)),
        ]
        # the old moment passes: nothing is sent for the old time
        clock.move_to(day - timedelta(hours=2) + timedelta(seconds=5))
        await wait_for_async(lambda: _nothing_due(store_of(runtime), clock(), runtime.tenants["salon"].portal))
        assert len(sent(telegram)) == 5

        # the client cancels in words: the stage moves to cancelled and the slot is free again
        await client.post("/webhooks/salon/telegram", json=message(11, "отмените запись пожалуйста"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 6)
        assert "отменена" in sent(telegram)[5]["text"]
        await wait_for(lambda: portal.state.deals[visit.deal_id]["STAGE_ID"] == "APOLOGY")
        assert await _status(store_of(runtime), "cancelled")
        assert await planned_reminders(store_of(runtime), visit.id) == []


def store_of(runtime: Any) -> AsyncEngine:
    assert runtime.store is not None
    return runtime.store


async def _visit_with_deal(engine: Any) -> Any:
    visit = await latest_visit(engine, "salon", f"salon:telegram:{CHAT}")
    return visit if visit is not None and visit.deal_id is not None else None


async def _nothing_due(engine: Any, now: datetime, portal: str) -> bool:
    return not await due_reminders(engine, now, [("salon", portal)])


async def test_a_manager_change_whose_event_was_lost_is_found_by_the_poll(make_config, portal, telegram, store_url):
    clock = Clock()
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        await wait_for(lambda: portal.state.deals[visit.deal_id].get("STAGE_ID") == "PREPARATION")
        # cancelled in the portal; Bitrix24's event is lost (nobody posts it)
        portal.dispatch("crm.deal.update", {"id": visit.deal_id, "fields": {"STAGE_ID": "APOLOGY"}})
        await wait_for(lambda: len(sent(telegram)) == 3, limit=20)
        assert sent(telegram)[2]["text"].startswith("Ваша запись на") and "отменена" in sent(telegram)[2]["text"]
        assert await _status(store_of(runtime), "cancelled")
        assert portal.state.calls.get("crm.deal.list", 0) >= 1


async def test_two_clients_picking_the_same_last_slot_one_gets_it_the_other_the_next_ones(
    make_config, portal, telegram, store_url
):
    config = lifecycle_config(make_config, portal, telegram, capacity=1)
    day = visit_day()
    async with gateway(config, store_url=store_url) as (client, _runtime):
        text = f"Хочу маникюр {said(day)}, мой номер 8 913 123-45-67"
        for update_id, chat in ((1, CHAT), (2, OTHER_CHAT)):
            await client.post("/webhooks/salon/telegram", json=message(update_id, text, chat), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, CHAT)) == 1 and len(sent(telegram, OTHER_CHAT)) == 1)
        slot = f"b:{day:%Y-%m-%dT%H:%M}"
        assert slot in buttons(sent(telegram, CHAT)[0]) and slot in buttons(sent(telegram, OTHER_CHAT)[0])
        for update_id, chat in ((3, CHAT), (4, OTHER_CHAT)):
            await client.post("/webhooks/salon/telegram", json=press(update_id, slot, chat), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, CHAT)) == 2 and len(sent(telegram, OTHER_CHAT)) == 2)
        answers = {sent(telegram, c)[1]["text"].split(":")[0]: c for c in (CHAT, OTHER_CHAT)}
        assert set(answers) == {"Вы записаны", "Это время только что заняли. Выберите, пожалуйста, другое"}
        loser = answers["Это время только что заняли. Выберите, пожалуйста, другое"]
        offered = buttons(sent(telegram, loser)[1])
        assert offered and slot not in offered


async def test_a_blocked_client_is_not_reminded_and_the_deal_says_to_call(make_config, portal, telegram, store_url):
    clock = Clock()
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        telegram.blocked.add(CHAT)
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for(
            lambda: any("заблокировал бота" in c["COMMENT"] for c in portal.state.comments.values()), limit=20
        )
        assert await reminder_outcomes(store_of(runtime), visit.id) == [("24h", "unreachable")]
        assert len(sent(telegram)) == 2


async def test_a_reminder_claimed_by_a_worker_that_died_after_sending_is_not_sent_again(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        due = day - timedelta(hours=24)
        (first, _second) = await due_reminders(store_of(runtime), day, [("salon", runtime.tenants["salon"].portal)])
        # what a worker killed between the send and its record leaves: the claim, no outcome
        assert await claim_reminder(store_of(runtime), first.id, due)
        clock.move_to(day - timedelta(hours=2) + timedelta(seconds=5))
        await wait_for(lambda: len(sent(telegram)) == 3, limit=20)  # the 2 h one goes; the 24 h one never
        assert sent(telegram)[2]["text"].startswith("Напоминаем")
        expected = [("24h", None), ("2h", "sent")]
        await wait_for_async(lambda: _outcomes_are(store_of(runtime), visit.id, expected))


async def _outcomes_are(engine: Any, visit_id: int, expected: list[tuple[str, str | None]]) -> bool:
    return await reminder_outcomes(engine, visit_id) == expected


async def test_a_client_writing_after_the_deal_is_won_gets_a_new_deal_marked_returning(
    make_config, portal, telegram, store_url
):
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        await wait_for(lambda: len([c for c in portal.state.comments.values() if c["ENTITY_ID"] == visit.deal_id]) == 2)
        portal.dispatch("crm.deal.update", {"id": visit.deal_id, "fields": {"STAGE_ID": "WON"}})
        await client.post("/bitrix/salon/events", data=event_form("ONCRMDEALUPDATE", visit.deal_id))
        await wait_for_async(lambda: _status(store_of(runtime), "visited"))
        old = dict(portal.state.deals[visit.deal_id])
        old_comments = [c for c in portal.state.comments.values() if c["ENTITY_ID"] == visit.deal_id]

        await client.post(
            "/webhooks/salon/telegram", json=message(20, "Здравствуйте, хочу снова на маникюр"), headers=HEADERS
        )
        await wait_for(lambda: len(portal.state.deals) == 2)
        new = next(d for d in portal.state.deals.values() if d["ID"] != visit.deal_id)
        assert new["IS_RETURN_CUSTOMER"] == "Y" and new["ORIGIN_ID"] == f"salon:telegram:{CHAT}#2"
        assert new["CONTACT_IDS"] == old["CONTACT_IDS"] and len(portal.state.contacts) == 1
        await wait_for(lambda: any(c["ENTITY_ID"] == new["ID"] for c in portal.state.comments.values()))
        assert next(c["COMMENT"] for c in portal.state.comments.values() if c["ENTITY_ID"] == new["ID"]).endswith(
            "Здравствуйте, хочу снова на маникюр"
        )
        assert portal.state.deals[visit.deal_id] == old  # the closed deal is never changed
        assert [c for c in portal.state.comments.values() if c["ENTITY_ID"] == visit.deal_id] == old_comments


async def _status(engine: Any, status: str) -> bool:
    visit = await latest_visit(engine, "salon", f"salon:telegram:{CHAT}")
    return visit is not None and visit.status == status


def member_change(update_id: int, status: str, chat: int = CHAT) -> dict[str, Any]:
    person = {"id": chat, "is_bot": False, "first_name": "Анна"}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": chat, "type": "private", "first_name": "Анна"},
            "from": person,
            "date": stamp(),
            "old_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "bot"}, "status": "member"},
            "new_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "bot"}, "status": status},
        },
    }


async def test_telegram_member_updates_keep_the_channel_reachable_or_not(make_config, portal, telegram, store_url):
    clock = Clock()
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        blocked = await client.post("/webhooks/salon/telegram", json=member_change(30, "kicked"), headers=HEADERS)
        assert blocked.json()["status"] == "queued"
        await wait_for(lambda: any("заблокировал бота" in c["COMMENT"] for c in portal.state.comments.values()))
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for_async(lambda: _outcomes_are(store_of(runtime), visit.id, [("24h", "unreachable")]))
        assert len(sent(telegram)) == 2  # not even tried: the bot knows it is blocked
        await client.post("/webhooks/salon/telegram", json=member_change(31, "member"), headers=HEADERS)
        await wait_for(lambda: any("снова разрешил" in c["COMMENT"] for c in portal.state.comments.values()))
        clock.move_to(day - timedelta(hours=2) + timedelta(seconds=5))
        await wait_for(lambda: len(sent(telegram)) == 3)
        assert sent(telegram)[2]["text"].startswith("Напоминаем")


async def test_a_client_back_after_redis_forgot_them_is_still_a_returning_client(
    make_config, portal, telegram, store_url, redis
):
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        portal.dispatch("crm.deal.update", {"id": visit.deal_id, "fields": {"STAGE_ID": "WON"}})
        await client.post("/bitrix/salon/events", data=event_form("ONCRMDEALUPDATE", visit.deal_id))
        await wait_for_async(lambda: _status(store_of(runtime), "visited"))
        conv = f"salon:telegram:{CHAT}"
        await wait_for_async(lambda: _crm_done(redis, conv))  # no sync still writing what is deleted below
        # a year on: everything Redis kept about the conversation has expired (180 days)
        await redis.delete(f"lg:conv:{conv}", f"lg:crm:{conv}", f"lg:tl:{conv}", f"lg:inbox:{conv}")
        await redis.delete(*[key async for key in redis.scan_iter(f"arq:result:crm:{conv}:*")])  # 1 h, long gone
        await client.post("/webhooks/salon/telegram", json=message(40, "Добрый день, хочу на маникюр"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 2)
        new = next(d for d in portal.state.deals.values() if d["ID"] != visit.deal_id)
        assert new["IS_RETURN_CUSTOMER"] == "Y" and new["ORIGIN_ID"] == f"{conv}#2"
        assert len(portal.state.contacts) == 1  # found again by the client's Telegram identity


async def _crm_done(redis: Any, conv: str) -> bool:
    """No sync of the conversation queued or running (the queue also holds the lifecycle's cron jobs)."""
    syncs = [j for j in await redis.zrange("lg:queue:crm", 0, -1) if j.startswith(f"crm:{conv}:".encode())]
    return not syncs and not await redis.exists(f"lg:lock:crm:{conv}")


async def test_reschedule_from_the_reminder_offers_slots_and_moves_the_visit_and_its_reminders(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = lifecycle_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day)
        visit = await wait_for_async(lambda: _visit_with_deal(store_of(runtime)))
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for(lambda: len(sent(telegram)) == 3)
        await client.post("/webhooks/salon/telegram", json=press(50, f"v:r:{visit.id}"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 4)
        offer = sent(telegram)[3]
        assert offer["text"] == "Выберите новое время:"
        choices = buttons(offer)
        assert choices and f"b:{day:%Y-%m-%dT%H:%M}" not in choices  # its own time is not a new one
        await client.post("/webhooks/salon/telegram", json=press(51, choices[-1]), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 5)
        assert sent(telegram)[4]["text"].startswith("Запись перенесена: Маникюр")
        new_start = datetime.fromisoformat(choices[-1][2:]).replace(tzinfo=TZ)
        await wait_for(
            lambda: datetime.fromisoformat(portal.state.deals[visit.deal_id]["UF_CRM_VISIT_AT"]) == new_start
        )
        moved = await latest_visit(store_of(runtime), "salon", f"salon:telegram:{CHAT}")
        assert moved is not None and moved.id == visit.id and moved.start_at == new_start
        # the reminders of the new time (the 24 h one, sent for the old time, comes again for the new one)
        assert await planned_reminders(store_of(runtime), visit.id) == [
            ("24h", new_start - timedelta(hours=24)),
            ("2h", new_start - timedelta(hours=2)),
        ]
        assert any("просит перенести запись" in c["COMMENT"] for c in portal.state.comments.values())
