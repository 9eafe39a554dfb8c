"""Bringing clients back, end to end: the consent question, the rebooking offer after a no-show, the
retention chain, upsell, «стоп» and «подписаться». Telegram webhook -> Redis -> worker -> the sandbox
portal and the business store (SQLite and PostgreSQL), with a clock the test moves instead of waiting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain import ConsentAnswer
from gateway.store.sql import consents
from gateway.store.sql.agenda import planned_reminders, reminder_outcomes
from gateway.store.sql.visits import latest_visit
from tests.conftest import gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import (
    CHAT,
    HEADERS,
    OTHER_CHAT,
    Clock,
    book,
    buttons,
    event_form,
    lifecycle_config,
    message,
    own_contact,
    press,
    said,
    sent,
    store_of,
    visit_day,
)

POLICY = "https://salon.example/privacy"
CATALOG = [
    {"id": "manicure", "name": "Маникюр", "duration_min": 60, "price": 1500, "return_after": "3h"},
    {"id": "paraffin", "name": "Парафинотерапия", "duration_min": 30, "price": 700},
    {"id": "haircut_men", "name": "Мужская стрижка", "aliases": ["подстричься"], "duration_min": 45, "price": 1200},
]


def offers_config(make_config: Any, portal: Any, telegram: Any, **lifecycle: Any) -> Any:
    settings = {
        "consent": {"policy_url": POLICY, "text_version": "2026-11"},
        "no_show": {"discount_percent": 10, "valid_days": 14},
        "retention": ["1h", "2h", "4h"],
        "marketing_gap": "30m",
        **lifecycle,
    }
    return lifecycle_config(make_config, portal, telegram, lifecycle=settings, catalog=CATALOG)


async def visit_of(runtime: Any, chat: int = CHAT) -> Any:
    visit = await latest_visit(store_of(runtime), "salon", f"salon:telegram:{chat}")
    return visit if visit is not None and visit.deal_id is not None else None


async def book_and_answer(client: Any, telegram: Any, runtime: Any, day: datetime, yes: bool, chat: int = CHAT) -> Any:
    """Book `day`, get the consent question as its own message, answer it; the visit, with its deal."""
    await book(client, telegram, day, chat=chat)
    await wait_for(lambda: len(sent(telegram, chat)) == 3)
    asked = sent(telegram, chat)[2]
    assert POLICY in asked["text"] and buttons(asked) == ["k:y", "k:n"], asked
    await client.post("/webhooks/salon/telegram", json=press(10, "k:y" if yes else "k:n", chat), headers=HEADERS)
    await wait_for(lambda: len(sent(telegram, chat)) == 4)
    return await wait_for_async(lambda: visit_of(runtime, chat))


async def move_deal(client: Any, portal: Any, deal_id: int, stage: str, **fields: Any) -> None:
    """A manager moves the deal on the board; Bitrix24 sends ONCRMDEALUPDATE."""
    portal.dispatch("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": stage, **fields}})
    response = await client.post("/bitrix/salon/events", data=event_form("ONCRMDEALUPDATE", deal_id))
    assert response.status_code == 200


def texts_with(telegram: Any, fragment: str, chat: int = CHAT) -> list[dict[str, Any]]:
    return [m for m in sent(telegram, chat) if fragment in m["text"]]


async def outcome_of(engine: Any, visit_id: int, kind: str) -> str | None:
    return dict(await reminder_outcomes(engine, visit_id)).get(kind)


async def test_the_consent_question_is_asked_once_and_each_answer_is_kept_as_evidence(
    make_config, portal, telegram, store_url
):
    config = offers_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url, clock=Clock()) as (client, runtime):
        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        assert sent(telegram)[3]["text"].startswith("Спасибо! Будем писать только по делу")
        question_text = sent(telegram)[2]["text"]
        rows = await consents.export(store_of(runtime), "salon")
        assert [(r.answer, r.text, r.text_version) for r in rows] == [
            (ConsentAnswer.ASKED, question_text, "2026-11"),
            (ConsentAnswer.YES, question_text, "2026-11"),
        ]
        # the phone was typed, not vouched for by Telegram: the person is this conversation
        assert rows[1].person == f"salon:telegram:{CHAT}" and rows[1].channel == "telegram"
        await wait_for(
            lambda: any(
                c["ENTITY_TYPE"] == "contact" and "дал согласие на рекламные сообщения" in c["COMMENT"]
                for c in portal.state.comments.values()
            )
        )
        # a second booking of the same person is not asked again
        await client.post("/webhooks/salon/telegram", json=press(11, f"v:x:{visit.id}"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 5)
        later = visit_day() + timedelta(days=1)
        later = later + timedelta(days=1) if later.weekday() == 6 else later
        await client.post("/webhooks/salon/telegram", json=message(20, f"Хочу маникюр {said(later)}"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 6)
        slot = f"b:{later:%Y-%m-%dT%H:%M}"
        assert slot in buttons(sent(telegram)[5])
        await client.post("/webhooks/salon/telegram", json=press(21, slot), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 7)
        second = await latest_visit(store_of(runtime), "salon", f"salon:telegram:{CHAT}")
        assert second is not None and second.id != visit.id
        kinds = [kind for kind, _ in await planned_reminders(store_of(runtime), second.id)]
        assert "consent" not in kinds and "24h" in kinds


async def test_a_no_show_gets_a_discounted_rebooking_offer_once_and_the_new_deal_carries_the_discount(
    make_config, portal, telegram, store_url
):
    config = offers_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url, clock=Clock()) as (client, runtime):
        engine = store_of(runtime)
        missed = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        await move_deal(client, portal, missed.deal_id, "LOSE")
        await wait_for(lambda: len(texts_with(telegram, "со скидкой 10%")) == 1)
        offer = texts_with(telegram, "со скидкой 10%")[0]
        slots = buttons(offer)
        assert slots and all(s.startswith("b:") and s.endswith(f"|n{missed.id}") for s in slots), slots

        await client.post("/webhooks/salon/telegram", json=press(30, slots[0]), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "Скидка 10% сохранена")) == 1)
        await wait_for(lambda: len(portal.state.deals) == 2)
        new_deal = next(d for d in portal.state.deals.values() if int(d["ID"]) != missed.deal_id)
        await wait_for(lambda: "Скидка 10%" in str(portal.state.deals[new_deal["ID"]].get("COMMENTS")))
        assert new_deal["IS_RETURN_CUSTOMER"] == "Y"
        recovered = await latest_visit(engine, "salon", f"salon:telegram:{CHAT}")
        assert recovered is not None and recovered.recovered_from == missed.id and recovered.discount_percent == 10
        await wait_for(
            lambda: any(
                "Запись со скидкой 10% по предложению после неявки" in c["COMMENT"]
                for c in portal.state.comments.values()
            )
        )
        # product rows a manager (or an automation) puts on the new deal get the discount too
        rows = [{"productName": "Маникюр", "price": 1500, "quantity": 1}]
        portal.dispatch("crm.item.productrow.set", {"ownerType": "D", "ownerId": new_deal["ID"], "productRows": rows})
        await client.post("/bitrix/salon/events", data=event_form("ONCRMDEALUPDATE", int(new_deal["ID"])))
        await wait_for(lambda: portal.state.deals[new_deal["ID"]]["OPPORTUNITY"] == 1350)
        [row] = portal.state.product_rows[new_deal["ID"]]
        assert (row["discountTypeId"], row["discountRate"], row["discountSum"], row["priceNetto"]) == (2, 10, 150, 1500)
        # the same missed visit is not offered again, whatever the portal repeats
        await client.post("/bitrix/salon/events", data=event_form("ONCRMDEALUPDATE", missed.deal_id))
        await wait_for_async(lambda: _agenda_empty(engine, missed.id))
        assert await reminder_outcomes(engine, missed.id) == [("consent", "sent"), ("no_show", "sent")]
        assert len(texts_with(telegram, "со скидкой 10%")) == 1


async def _agenda_empty(engine: Any, visit_id: int) -> bool:
    return not await planned_reminders(engine, visit_id)


async def test_the_retention_chain_keeps_one_offer_per_gap_and_survives_a_restart(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = offers_config(make_config, portal, telegram, retention=["1h", "3h"])  # manicure: back after 3h
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        await move_deal(client, portal, visit.deal_id, "WON", OPPORTUNITY=1800, ASSIGNED_BY_ID=7)
        await wait_for_async(lambda: _planned_kinds(engine, visit.id, ["retention:1h", "retention:3h"]))
        visited_at = clock()
        clock.move_to(visited_at + timedelta(hours=3, seconds=5))  # both due at once
        await wait_for(lambda: len(texts_with(telegram, "Пора снова на Маникюр")) == 1)
        # the second waits: one offer per 30 minutes per person
        postponed = await wait_for_async(lambda: _postponed(engine, visit.id, clock() + timedelta(minutes=29)))
        kept = await latest_visit(engine, "salon", f"salon:telegram:{CHAT}")
        assert kept is not None and kept.revenue == 1800 and kept.manager_id == 7
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):  # restarted
        clock.move_to(postponed + timedelta(seconds=5))
        await wait_for_async(lambda: _outcome_is(store_of(runtime), visit.id, "retention:3h", "sent"))
        assert await outcome_of(store_of(runtime), visit.id, "retention:1h") == "sent"
        assert len(texts_with(telegram, "Пора снова на Маникюр")) == 2  # nothing lost, nothing twice


async def _postponed(engine: Any, visit_id: int, after: datetime) -> datetime | None:
    """The moment the visit's one planned message was moved to, once it is past `after`."""
    planned = await planned_reminders(engine, visit_id)
    return planned[0][1] if len(planned) == 1 and planned[0][1] > after else None


async def _planned_kinds(engine: Any, visit_id: int, kinds: list[str]) -> bool:
    return [kind for kind, _ in await planned_reminders(engine, visit_id)] == kinds


async def _outcome_is(engine: Any, visit_id: int, kind: str, outcome: str) -> bool:
    return await outcome_of(engine, visit_id, kind) == outcome


async def test_a_new_booking_ends_the_retention_chain_and_the_service_return_after_sets_its_middle(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = offers_config(make_config, portal, telegram)  # 1h, 2h, 4h; manicure returns after 3h
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        await move_deal(client, portal, visit.deal_id, "WON")
        await wait_for_async(lambda: _planned_kinds(engine, visit.id, ["retention:1h", "retention:3h", "retention:4h"]))
        visited_at = clock()
        clock.move_to(visited_at + timedelta(hours=1, seconds=5))
        await wait_for(lambda: len(texts_with(telegram, "Пора снова на Маникюр")) == 1)
        slots = buttons(texts_with(telegram, "Пора снова на Маникюр")[0])
        assert slots and all(s.endswith(f"|r{visit.id}") for s in slots), slots
        await client.post("/webhooks/salon/telegram", json=press(40, slots[0]), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "Вы записаны: Маникюр")) == 2)

        clock.move_to(visited_at + timedelta(hours=4, seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "retention:4h", "stale"))
        assert await outcome_of(engine, visit.id, "retention:3h") == "stale"
        assert len(texts_with(telegram, "Пора снова")) == 1


async def test_a_client_who_said_no_never_gets_an_offer(make_config, portal, telegram, store_url):
    clock = Clock()
    config = offers_config(make_config, portal, telegram, retention=["1h"])  # manicure: its 3h replaces the one step
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=False)
        assert sent(telegram)[3]["text"].startswith("Хорошо, предложений присылать не будем")
        await move_deal(client, portal, visit.deal_id, "WON")
        await wait_for_async(lambda: _planned_kinds(engine, visit.id, ["retention:3h"]))
        clock.move_to(clock() + timedelta(hours=3, seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "retention:3h", "no_consent"))
        assert not texts_with(telegram, "Пора снова")


async def test_a_stranger_who_typed_the_clients_phone_cannot_stop_her_reminders_or_get_her_messages(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = offers_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, day, yes=True)
        await client.post("/webhooks/salon/telegram", json=own_contact(9, CHAT), headers=HEADERS)
        # a stranger types her number in a chat of his own and asks the bot to stop
        await client.post(
            "/webhooks/salon/telegram", json=message(60, "мой номер +7 913 123-45-67", OTHER_CHAT), headers=HEADERS
        )
        await wait_for(lambda: len(sent(telegram, OTHER_CHAT)) == 1)
        await client.post("/webhooks/salon/telegram", json=message(61, "стоп", OTHER_CHAT), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "больше не будем писать вам первыми", OTHER_CHAT)) == 1)
        her = ["+79131234567", f"salon:telegram:{CHAT}"]
        assert await consents.standing_of(engine, "salon", her) == ConsentAnswer.YES
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "24h", "sent"))
    assert any("Напоминаем" in m["text"] or "напомина" in m["text"].lower() for m in sent(telegram, CHAT)[3:])
    assert not any("Маникюр" in m["text"] for m in sent(telegram, OTHER_CHAT))  # nothing about her visit


async def test_stop_ends_even_reminders_on_every_channel_until_a_later_yes(make_config, portal, telegram, store_url):
    clock = Clock()
    config = offers_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, day, yes=True, chat=OTHER_CHAT)
        # she shares her own contact: Telegram vouches for the number, so it is who she is everywhere
        await client.post("/webhooks/salon/telegram", json=own_contact(49, OTHER_CHAT), headers=HEADERS)
        await client.post("/webhooks/salon/telegram", json=message(50, "СТОП!", OTHER_CHAT), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "больше не будем писать вам первыми", OTHER_CHAT)) == 1)
        standing = await consents.standing_of(engine, "salon", ["+79131234567"])
        assert standing == ConsentAnswer.STOP  # the person, by phone: every channel they use
        await wait_for(
            lambda: any(
                c["ENTITY_TYPE"] == "contact" and "больше не писать ему первым" in c["COMMENT"]
                for c in portal.state.comments.values()
            )
        )
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "24h", "stopped"))
        before = len(sent(telegram, OTHER_CHAT))

        await client.post("/webhooks/salon/telegram", json=message(51, "подписаться", OTHER_CHAT), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, OTHER_CHAT)) == before + 1)
        assert buttons(sent(telegram, OTHER_CHAT)[-1]) == ["k:y", "k:n"]
        await client.post("/webhooks/salon/telegram", json=press(52, "k:y", OTHER_CHAT), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, OTHER_CHAT)) == before + 2)
        clock.move_to(day - timedelta(hours=2) + timedelta(seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "2h", "sent"))
        answers = [r.answer for r in await consents.export(engine, "salon")]
        assert answers == ["asked", "yes", "stop", "asked", "yes"]


async def confirm_and_add_paraffin(client: Any, telegram: Any, visit_id: int) -> None:
    """The client confirms the visit, is offered paraffin with its price at once, and adds it."""
    await client.post("/webhooks/salon/telegram", json=press(60, f"v:c:{visit_id}"), headers=HEADERS)
    await wait_for(lambda: len(texts_with(telegram, "можно добавить парафинотерапия за 700 ₽")) == 1)
    offer = texts_with(telegram, "можно добавить")[0]
    assert buttons(offer) == [f"u:a:{visit_id}:paraffin", f"u:n:{visit_id}:paraffin"]
    await client.post("/webhooks/salon/telegram", json=press(61, buttons(offer)[0]), headers=HEADERS)
    await wait_for(lambda: len(texts_with(telegram, "Добавили парафинотерапия")) == 1)


async def test_an_upsell_at_confirmation_adds_the_offer_to_the_visit_and_its_deal(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    upsell = [{"service": "manicure", "offer": "paraffin", "at": ["confirmation", "48h"]}]
    config = offers_config(make_config, portal, telegram, upsell=upsell)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, day, yes=True)
        assert "upsell:paraffin:48h" in [kind for kind, _ in await planned_reminders(engine, visit.id)]
        await confirm_and_add_paraffin(client, telegram, visit.id)
        extended = await latest_visit(engine, "salon", f"salon:telegram:{CHAT}")
        assert extended is not None and extended.services == ("manicure", "paraffin")
        assert extended.end_at - extended.start_at == timedelta(minutes=90)
        await wait_for(lambda: "Парафинотерапия" in portal.state.deals[visit.deal_id]["TITLE"])
        clock.move_to(day - timedelta(hours=48) + timedelta(seconds=5))  # the 48h offer: already taken
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "upsell:paraffin:48h", "stale"))
        assert len(texts_with(telegram, "можно добавить")) == 1


async def test_stop_after_a_visit_opens_no_new_deal_and_is_written_on_the_contact(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = offers_config(make_config, portal, telegram, retention=["1h"])
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        await move_deal(client, portal, visit.deal_id, "WON")
        await wait_for_async(lambda: _planned_kinds(engine, visit.id, ["retention:3h"]))
        await client.post("/webhooks/salon/telegram", json=message(70, "не пишите мне больше"), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "больше не будем писать вам первыми")) == 1)
        await wait_for(
            lambda: any(
                c["ENTITY_TYPE"] == "contact" and c["COMMENT"].endswith("Клиент: не пишите мне больше")
                for c in portal.state.comments.values()
            )
        )
        assert len(portal.state.deals) == 1  # the won deal stays the only one, and untouched
        clock.move_to(clock() + timedelta(hours=3, seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "retention:3h", "stopped"))
        assert not texts_with(telegram, "Пора снова")


async def test_a_reminder_her_blocked_chat_cannot_take_never_falls_back_to_a_stranger_who_typed_her_phone(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = offers_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, day, yes=True)
        stranger = message(60, "Хочу маникюр, мой номер +7 913 123-45-67", OTHER_CHAT)
        await client.post("/webhooks/salon/telegram", json=stranger, headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, OTHER_CHAT)) == 1)
        await wait_for(lambda: len(portal.state.deals) == 2)
        assert len(portal.state.contacts) == 1  # the CRM matched his typed phone to her contact
        telegram.blocked.add(CHAT)
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for_async(lambda: _outcome_is(engine, visit.id, "24h", "unreachable"))
    assert len(sent(telegram, OTHER_CHAT)) == 1  # his own answer only: nothing about her visit


async def test_a_consent_yes_pressed_before_any_question_is_not_kept_as_consent(
    make_config, portal, telegram, store_url
):
    """Issue 26 #16: a crafted `k:y` from someone never asked gets the question (kept as asked), not a yes
    with no question before it in the export."""
    config = offers_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url, clock=Clock()) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=press(1, "k:y"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 1)
        assert POLICY in sent(telegram)[0]["text"] and buttons(sent(telegram)[0]) == ["k:y", "k:n"]
        rows = await consents.export(store_of(runtime), "salon")
        assert [r.answer for r in rows] == [ConsentAnswer.ASKED]
        await client.post("/webhooks/salon/telegram", json=press(2, "k:y"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 2)
        rows = await consents.export(store_of(runtime), "salon")
        assert [r.answer for r in rows] == [ConsentAnswer.ASKED, ConsentAnswer.YES]
        assert rows[1].text == rows[0].text and sent(telegram)[0]["text"].endswith(rows[0].text)  # after a greeting


async def test_a_press_whose_booking_was_made_before_a_crash_is_answered_as_a_booking(
    make_config, portal, telegram, store_url
):
    """Issue 26 #7: a worker killed right after the press's booking was written, before it answered. The
    retried press finds the visit booked at that very slot: «Вы записаны» (not «Запись перенесена»), the
    consent question follows, and the booking is in the numbers once."""
    import asyncio

    from domain import Address
    from gateway.store.facts import Kind
    from gateway.store.sql.analytics import facts_between
    from gateway.store.sql.visits import book_visit

    config = offers_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=Clock()) as (client, runtime):
        await client.post(
            "/webhooks/salon/telegram",
            json=message(1, f"Хочу маникюр {said(day)}, мой номер 8 913 123-45-67"),
            headers=HEADERS,
        )
        await wait_for(lambda: len(sent(telegram)) == 1)
        slot = f"b:{day:%Y-%m-%dT%H:%M}"
        assert slot in buttons(sent(telegram)[0])
        app = runtime.tenants["salon"].appointments
        assert app is not None
        # what the press's first run wrote before the process died: the visit's row, nothing after it (no
        # reminders planned, no booking fact, no answer)
        await book_visit(
            store_of(runtime),
            tenant="salon",
            portal=app.portal,
            conversation=f"salon:telegram:{CHAT}",
            to=Address("telegram", str(CHAT)),
            deal_id=None,
            start_at=day,
            end_at=day + timedelta(minutes=60),
            services=["manicure"],
            capacity=app.tenant.capacity,
            now=runtime.clock(),
        )
        await client.post("/webhooks/salon/telegram", json=press(2, slot), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 3)
        assert sent(telegram)[1]["text"].startswith(f"Вы записаны: Маникюр, {said(day)}")  # the salon's time
        assert POLICY in sent(telegram)[2]["text"]  # the consent question after a first booking

        async def bookings() -> list[Any]:
            every = await facts_between(
                store_of(runtime), "salon", day - timedelta(days=400), day + timedelta(days=400)
            )
            return [f for f in every if f.kind == Kind.BOOKING]

        visit = await visit_of_any(runtime)
        assert [kind for kind, _ in await planned_reminders(store_of(runtime), visit.id)]  # the agenda is planned
        await wait_for_async(bookings)
        await asyncio.sleep(1.5)  # a second booking fact, were there one, would be folded by now
        assert len(await bookings()) == 1


async def visit_of_any(runtime: Any, chat: int = CHAT) -> Any:
    return await latest_visit(store_of(runtime), "salon", f"salon:telegram:{chat}")


async def test_an_upsell_at_confirmation_comes_right_after_a_retention_offer(make_config, portal, telegram, store_url):
    """Issue 25: a client who got a retention offer books again from it; when the visit is confirmed, the
    pedicure-style upsell at confirmation comes with it, not a `marketing_gap` later: it is part of the
    exchange about the booking, not another push."""
    clock = Clock()
    upsell = [{"service": "manicure", "offer": "paraffin", "at": ["confirmation"]}]
    config = offers_config(make_config, portal, telegram, retention=["1h"], upsell=upsell, marketing_gap="1d")
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        await move_deal(client, portal, visit.deal_id, "WON")
        await wait_for_async(lambda: _planned_kinds(engine, visit.id, ["retention:3h"]))
        clock.move_to(clock() + timedelta(hours=3, seconds=5))
        await wait_for(lambda: len(texts_with(telegram, "Пора снова на Маникюр")) == 1)
        slots = buttons(texts_with(telegram, "Пора снова на Маникюр")[0])
        await client.post("/webhooks/salon/telegram", json=press(40, slots[0]), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "Вы записаны: Маникюр")) == 2)
        again = await wait_for_async(lambda: visit_of(runtime))
        assert again.id != visit.id
        await move_deal(client, portal, again.deal_id, "PREPAYMENT_INVOICE")  # the sandbox's `confirmed` stage
        await wait_for(lambda: len(texts_with(telegram, "можно добавить парафинотерапия")) == 1)
        assert await outcome_of(engine, again.id, "upsell:paraffin:confirmation") == "sent"
