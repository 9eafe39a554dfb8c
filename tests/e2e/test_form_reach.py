"""A website form from someone the bot already talks to: the form's Telegram or VK link (or a phone a
conversation knows) leads to that conversation, where the bot first asks whether the form was theirs and
offers the form's service's slots only on a yes; never after a stop, never at night, and the form's deal
says what became of it. Telegram and VK stand-ins, the sandbox portal, the business store, a clock the
test moves."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from gateway.store.redis_result import result
from tests.clock import tomorrow
from tests.conftest import SECRET as TG_SECRET
from tests.conftest import gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import HEADERS, Clock, buttons, lifecycle_config, message, press, sent, store_of
from tests.e2e.test_vk import CONFIRMATION, GROUP, PEER, SECRET, event
from tests.vk_stand_in import VkStandIn

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CHAT = 5511112222


def config_with(make_config: Any, portal: Any, telegram: Any, vk: VkStandIn | None = None, **lifecycle: Any) -> Any:
    channels: dict[str, Any] = {
        "telegram": {"bot_token": "123456:test-token", "secret_token": TG_SECRET, "api_base": telegram.base}
    }
    if vk is not None:
        channels["vk"] = {
            "group_id": GROUP,
            "access_token": "vk1.a.token",
            "secret": SECRET,
            "confirmation": CONFIRMATION,
            "api_base": f"{vk.base}/method",
        }
    return lifecycle_config(
        make_config, portal, telegram, channels=channels, forms={"require_consent": False}, lifecycle=lifecycle
    )


def said_by_anna(update_id: int, text: str) -> dict[str, Any]:
    """A Telegram message from a client with a public username (and no phone given in the chat)."""
    update = message(update_id, text, CHAT)
    update["message"]["from"]["username"] = "Anna_K"
    return update


def form(tranid: str, **fields: str) -> str:
    return urlencode({"Name": "Анна", "Phone": "+7 913 555-00-11", "formid": "f1", "tranid": tranid, **fields})


def comments_on_deals(portal: Any) -> list[str]:
    return [c["COMMENT"] for c in portal.state.comments.values() if c.get("ENTITY_TYPE") == "deal"]


QUESTION = "заявка с сайта"  # «Нам пришла заявка с сайта (…) с вашими контактами. Это вы её оставили?»
OFFER = "заявку с сайта"  # «Получили вашу заявку с сайта: …. Выберите удобное время:»


def answers(entry: dict[str, Any]) -> list[str]:
    """The question's two buttons, «Да, это я» then «Нет, не я»."""
    markup = json.loads(entry.get("reply_markup") or "{}")
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]


async def asked(client: Any, telegram: Any, body: str) -> list[str]:
    """Post the form and wait for the question in Anna's chat; its buttons."""
    assert (await client.post("/forms/salon", content=body, headers=FORM)).json()["status"] == "queued"
    await wait_for(lambda: any(QUESTION in m["text"] for m in sent(telegram, CHAT)))
    return answers(next(m for m in sent(telegram, CHAT) if QUESTION in m["text"]))


async def test_a_telegram_link_in_a_form_asks_first_then_offers_slots_and_never_attaches_the_forms_phone(
    make_config, portal, telegram, store_url
):
    from gateway.store.sql.visits import latest_visit

    async with gateway(config_with(make_config, portal, telegram), store_url=store_url) as (client, runtime):
        await client.post(
            "/webhooks/salon/telegram", json=said_by_anna(1, "Здравствуйте, сколько стоит?"), headers=HEADERS
        )
        await wait_for(lambda: len(sent(telegram, CHAT)) == 1)
        body = form("r1", Textarea="Мужская стрижка", Telegram="https://t.me/anna_k")
        yes, no = await asked(client, telegram, body)
        assert yes.startswith("f:y:") and no.startswith("f:n:")
        assert not any(OFFER in m["text"] for m in sent(telegram, CHAT))  # nothing offered before she answers
        await wait_for(lambda: any("Клиента спросили в telegram" in c for c in comments_on_deals(portal)))

        await client.post("/webhooks/salon/telegram", json=press(20, yes, CHAT), headers=HEADERS)
        await wait_for(lambda: any(OFFER in m["text"] for m in sent(telegram, CHAT)))
        offer = next(m for m in sent(telegram, CHAT) if OFFER in m["text"])
        slots = buttons(offer)
        assert slots and all(s.endswith("|shaircut_men") for s in slots), slots
        await wait_for(lambda: any("подтвердил заявку; ему предложено время" in c for c in comments_on_deals(portal)))
        await client.post("/webhooks/salon/telegram", json=press(21, yes, CHAT), headers=HEADERS)  # pressed twice
        await wait_for(lambda: sent(telegram, CHAT)[-1]["text"].startswith("Этот вопрос уже неактуален"))

        await client.post("/webhooks/salon/telegram", json=press(2, slots[0], CHAT), headers=HEADERS)
        await wait_for(lambda: sent(telegram, CHAT)[-1]["text"].startswith("Вы записаны: Мужская стрижка"))
        visit = await wait_for_async(lambda: latest_visit(store_of(runtime), "salon", f"salon:telegram:{CHAT}"))
        # the form's phone is what its author typed: it stays on the form's deal, never on her visit
        assert visit.phone is None and visit.services == ("haircut_men",)
        assert any(
            "+79135550011" in str(d.get("COMMENTS", "")) or "+79135550011" in str(d)
            for d in portal.state.deals.values()
        )
        # the same form again (Tilda re-sends) is the same lead: no second offer
        await client.post("/forms/salon", content=body, headers=FORM)
        await client.post("/webhooks/salon/telegram", json=said_by_anna(3, "спасибо"), headers=HEADERS)
        await wait_for(lambda: sent(telegram, CHAT)[-1]["text"] != offer["text"] and len(sent(telegram, CHAT)) >= 4)
        assert sum(QUESTION in m["text"] for m in sent(telegram, CHAT)) == 1


async def test_a_client_who_says_the_form_was_not_theirs_gets_nothing_offered_and_the_deal_says_so(
    make_config, portal, telegram, store_url
):
    async with gateway(config_with(make_config, portal, telegram), store_url=store_url) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=said_by_anna(1, "Добрый день"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, CHAT)) == 1)
        _, no = await asked(client, telegram, form("x1", Textarea="маникюр", Telegram="t.me/anna_k"))
        await client.post("/webhooks/salon/telegram", json=press(5, no, CHAT), headers=HEADERS)
        await wait_for(lambda: sent(telegram, CHAT)[-1]["text"].startswith("Спасибо, что ответили"))
        await wait_for(lambda: any("не оставлял эту заявку" in c for c in comments_on_deals(portal)))
        assert not any(OFFER in m["text"] for m in sent(telegram, CHAT))
        state = await runtime.redis.get(f"lg:conv:salon:telegram:{CHAT}")
        assert b"+79135550011" not in state  # the form's phone is not hers
        assert not await result(runtime.redis.hlen(f"lg:form-questions:salon:telegram:{CHAT}"))


async def test_no_offer_after_a_stop_and_none_at_night_until_the_quiet_hours_end(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    night = tomorrow(23)
    clock.move_to(night)
    config = config_with(make_config, portal, telegram, quiet_hours="21:00-09:00")
    async with gateway(config, store_url=store_url, clock=clock) as (client, _):
        await client.post("/webhooks/salon/telegram", json=said_by_anna(1, "Хочу на маникюр"), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, CHAT)) == 1)
        await client.post("/forms/salon", content=form("n1", Telegram="@anna_k"), headers=FORM)
        await wait_for(lambda: len(portal.state.deals) == 2)  # the form's own deal
        answered = len(sent(telegram, CHAT))
        clock.move_to(night + timedelta(hours=9, minutes=59))  # still 08:59
        await _a_while()
        assert len(sent(telegram, CHAT)) == answered  # nothing at night
        clock.move_to(night + timedelta(hours=10, seconds=5))  # 09:00:05
        await wait_for(lambda: any(QUESTION in m["text"] for m in sent(telegram, CHAT)))

        await client.post("/webhooks/salon/telegram", json=said_by_anna(2, "стоп"), headers=HEADERS)
        await wait_for(lambda: "первыми" in sent(telegram, CHAT)[-1]["text"])
        stopped = len(sent(telegram, CHAT))
        await client.post("/forms/salon", content=form("n2", Telegram="@anna_k", Comment="и педикюр"), headers=FORM)
        await wait_for(lambda: any("просил бота не писать" in c for c in comments_on_deals(portal)))
        assert len(sent(telegram, CHAT)) == stopped


async def test_a_vk_id_link_reaches_a_person_who_allowed_the_communitys_messages(
    make_config, portal, telegram, vk, store_url
):
    async with gateway(config_with(make_config, portal, telegram, vk), store_url=store_url) as (client, runtime):
        allow = event("message_allow", "a1", {"user_id": PEER, "key": "from-site"})
        assert (await client.post("/webhooks/salon/vk", json=allow)).text == "ok"
        await wait_for_async(lambda: runtime.redis.get(f"lg:addr:salon:vk:{PEER}"))  # in the address book
        body = form("v1", Textarea="маникюр", VK=f"https://vk.com/id{PEER}")
        assert (await client.post("/forms/salon", content=body, headers=FORM)).json()["status"] == "queued"
        await wait_for(lambda: any(QUESTION in m["message"] for m in vk.sent()))
        offer = next(m for m in vk.sent() if QUESTION in m["message"])
        assert offer["peer_id"] == str(PEER) and offer["intent"] == "confirmed_notification"
        assert "keyboard" in offer and "f:y:" in offer["keyboard"]
        # a screen name is asked of VK (utils.resolveScreenName); the same person is not written to again
        # within the day, whatever forms name them: the form's deal says to call instead
        vk.screen_names["anna.petrova"] = PEER
        body = form("v2", Textarea="мужская стрижка", Comment="я тут: https://vk.com/anna.petrova")
        await client.post("/forms/salon", content=body, headers=FORM)
        await wait_for(lambda: any("уже писал клиенту по заявке с сайта" in c for c in comments_on_deals(portal)))
        assert sum(QUESTION in m["message"] for m in vk.sent()) == 1
        assert any(name == "utils.resolveScreenName" for name, _ in vk.calls)


async def test_a_form_from_nobody_the_bot_knows_only_makes_its_deal(make_config, portal, telegram, store_url):
    async with gateway(config_with(make_config, portal, telegram), store_url=store_url) as (client, runtime):
        await client.post("/forms/salon", content=form("u1", Telegram="@someone_else"), headers=FORM)
        await wait_for(lambda: len(portal.state.deals) == 1 and bool(comments_on_deals(portal)))
        await _a_while()
        assert not sent(telegram, CHAT) and not telegram.sent
        assert not any("Клиенту" in c or "позвоните" in c for c in comments_on_deals(portal))
        held = await runtime.redis.zcard("lg:reach:held")
        assert held == 0


async def _a_while() -> None:
    import asyncio

    await asyncio.sleep(2.5)  # the agenda is looked at every second in tests: two looks and a half


async def test_vk_screen_names_in_forms_are_bounded_and_never_hold_up_the_deal(
    make_config, portal, telegram, vk, store_url
):
    """Issue 26 #8: a form naming hundreds of VK pages reads five; a tenant's forms look up at most
    VK_LOOKUPS_PER_MINUTE names a minute; every form still becomes its deal."""
    from gateway.usecases.conversation.lead_reach import VK_LOOKUPS_PER_MINUTE

    async with gateway(config_with(make_config, portal, telegram, vk), store_url=store_url) as (client, _):
        for n in range(5):  # the per-address limit
            names = " ".join(f"https://vk.com/page{n}x{i}" for i in range(300))
            body = urlencode(
                {"Name": f"Гость {n}", "Phone": f"+7 913 555-00-{n:02d}", "tranid": f"f{n}", "Comment": names}
            )
            assert (await client.post("/forms/salon", content=body, headers=FORM)).json()["status"] == "queued"
        await wait_for(lambda: len(portal.state.deals) == 5)
        await wait_for(lambda: len([c for c in vk.calls if c[0] == "utils.resolveScreenName"]) >= VK_LOOKUPS_PER_MINUTE)
        await _a_while()
        lookups = [c for c in vk.calls if c[0] == "utils.resolveScreenName"]
    assert len(lookups) == VK_LOOKUPS_PER_MINUTE  # 5 forms x 5 names read, 20 of them looked up this minute
