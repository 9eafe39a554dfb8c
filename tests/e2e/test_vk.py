"""VK community messages end to end, on the Callback API's documented payloads (tests/fixtures/channels/
vk_01_message_new.json and its .src.txt): the handshake, the secret, dedupe by event_id, replies through
messages.send with callback buttons, a button pressed, and VK's refusals."""

from __future__ import annotations

import copy
import json
from functools import partial
from typing import Any

from gateway.store.conversations import load_dialogue
from tests.conftest import SECRET as TG_SECRET
from tests.conftest import fixture_json, gateway, wait_for, wait_for_async
from tests.vk_stand_in import VkStandIn

GROUP, SECRET, CONFIRMATION = 123456789, "my_callback_secret", "a1b2c3d4"
PEER = 987654321


def vk_config(make_config: Any, portal: Any, telegram: Any, vk: VkStandIn) -> Any:
    channel = {
        "group_id": GROUP,
        "access_token": "vk1.a.community-token",
        "secret": SECRET,
        "confirmation": CONFIRMATION,
        "api_base": f"{vk.base}/method",
    }
    telegram_channel = {"bot_token": "123456:test-token", "secret_token": TG_SECRET, "api_base": telegram.base}
    return make_config(
        portal.url,
        telegram.base,
        channels={"telegram": telegram_channel, "vk": channel},
        deeplinks={"spring25": {"utm_source": "vk", "utm_campaign": "spring"}},
    )


def event(kind: str, event_id: str, obj: dict[str, Any], secret: str | None = SECRET) -> dict[str, Any]:
    body: dict[str, Any] = {"group_id": GROUP, "type": kind, "event_id": event_id, "v": "5.199", "object": obj}
    if secret is not None:
        body["secret"] = secret
    return body


def message_new() -> dict[str, Any]:
    return copy.deepcopy(fixture_json("channels/vk_01_message_new.json"))


async def test_the_handshake_and_the_secret(make_config, portal, telegram, vk):
    async with gateway(vk_config(make_config, portal, telegram, vk)) as (client, _):
        handshake = await client.post("/webhooks/salon/vk", json={"type": "confirmation", "group_id": GROUP})
        assert handshake.status_code == 200 and handshake.text == CONFIRMATION
        other = await client.post("/webhooks/salon/vk", json={"type": "confirmation", "group_id": 1})
        assert other.status_code == 403
        body = message_new()
        del body["secret"]
        assert (await client.post("/webhooks/salon/vk", json=body)).status_code == 401
        body["secret"] = "guess"
        assert (await client.post("/webhooks/salon/vk", json=body)).status_code == 403
        assert (await client.post("/webhooks/salon/vk", content=b"{")).status_code == 400
        assert (await client.post("/webhooks/spa/vk", json=message_new())).status_code == 404
        assert not vk.sent()


async def test_a_message_is_answered_once_with_buttons_and_its_ref_is_the_deals_utm(make_config, portal, telegram, vk):
    async with gateway(vk_config(make_config, portal, telegram, vk)) as (client, _):
        first = await client.post("/webhooks/salon/vk", json=message_new())
        again = await client.post("/webhooks/salon/vk", json=message_new())  # VK re-sends the same event_id
        assert (first.status_code, first.text, again.text) == (200, "ok", "ok")
        await wait_for(lambda: len(vk.sent()) == 1)
        reply = vk.sent()[0]
        assert (
            reply["peer_id"] == str(PEER) and reply["access_token"] == "vk1.a.community-token" and reply["v"] == "5.199"
        )
        assert reply["message"].startswith("Здравствуйте")
        board = json.loads(reply["keyboard"])
        assert board["inline"] is True and all(row[0]["action"]["type"] == "callback" for row in board["buttons"])
        assert json.loads(board["buttons"][0][0]["action"]["payload"]) == {"b": "s:haircut_men"}
        await wait_for(lambda: bool(portal.state.deals))
        deal = next(iter(portal.state.deals.values()))
        assert (deal["UTM_SOURCE"], deal["UTM_CAMPAIGN"], deal["SOURCE_ID"]) == ("vk", "spring", "VK")
        contact = next(iter(portal.state.contacts.values()))
        assert [(m["VALUE"], m["VALUE_TYPE"]) for m in contact["IM"]] == [(f"vk:{PEER}", "VK")]

        pressed = {
            "user_id": PEER,
            "peer_id": PEER,
            "event_id": "ab12cd34",
            "payload": {"b": "s:manicure"},
            "conversation_message_id": 188,
        }
        assert (await client.post("/webhooks/salon/vk", json=event("message_event", "ev-2", pressed))).text == "ok"
        await wait_for(lambda: len(vk.sent()) == 2)
        assert "Маникюр" in vk.sent()[1]["message"] or "Когда" in vk.sent()[1]["message"]
        answered = [form for name, form in vk.calls if name == "messages.sendMessageEventAnswer"]
        assert answered == [
            {
                "event_id": "ab12cd34",
                "user_id": str(PEER),
                "peer_id": str(PEER),
                "access_token": "vk1.a.community-token",
                "v": "5.199",
            }
        ]


async def test_a_person_who_denied_messages_or_cannot_be_written_to_is_marked_unreachable(
    make_config, portal, telegram, vk
):
    async with gateway(vk_config(make_config, portal, telegram, vk)) as (client, runtime):
        vk.refusals["messages.send"] = [(901, "Can't send messages for users without permission")]
        await client.post("/webhooks/salon/vk", json=message_new())
        await wait_for(lambda: len(vk.sent()) == 1)
        key = f"salon:vk:{PEER}"
        state = await wait_for_async(lambda: _unreachable(runtime, key))
        assert state.unreachable
        allow = event("message_allow", "ev-3", {"user_id": PEER, "key": "k"})
        assert (await client.post("/webhooks/salon/vk", json=allow)).text == "ok"
        await wait_for_async(lambda: _reachable(runtime, key))
        deny = event("message_deny", "ev-4", {"user_id": PEER})
        assert (await client.post("/webhooks/salon/vk", json=deny)).text == "ok"
        await wait_for_async(lambda: _unreachable(runtime, key))
        ignored = event("message_read", "ev-5", {"from_id": PEER, "peer_id": PEER})
        assert (await client.post("/webhooks/salon/vk", json=ignored)).text == "ok"


async def _unreachable(runtime: Any, key: str) -> Any:
    state = await load_dialogue(runtime.redis, key)
    return state if state is not None and state.unreachable else None


async def _reachable(runtime: Any, key: str) -> bool:
    state = await load_dialogue(runtime.redis, key)
    return state is not None and not state.unreachable


async def test_a_reminder_the_bot_starts_says_its_intent_and_goes_plain_if_vk_refuses_it(
    make_config, portal, telegram, vk, store_url
):
    from datetime import timedelta

    from gateway.store.sql.agenda import reminder_outcomes
    from gateway.store.sql.visits import latest_visit
    from tests.e2e.test_appointments import Clock, lifecycle_config, said, visit_day

    clock, day = Clock(), visit_day()
    channel = {
        "group_id": GROUP,
        "access_token": "t",
        "secret": SECRET,
        "confirmation": CONFIRMATION,
        "api_base": f"{vk.base}/method",
    }
    telegram_channel = {"bot_token": "123456:test-token", "secret_token": TG_SECRET, "api_base": telegram.base}
    config = lifecycle_config(make_config, portal, telegram, channels={"telegram": telegram_channel, "vk": channel})
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        text = {
            "date": 1764494000,
            "from_id": PEER,
            "peer_id": PEER,
            "id": 1,
            "text": f"Хочу маникюр {said(day)}, мой номер 8 913 123-45-67",
        }
        await client.post("/webhooks/salon/vk", json=event("message_new", "b1", {"message": text}))
        await wait_for(lambda: len(vk.sent()) == 1)
        slot = f"b:{day:%Y-%m-%dT%H:%M}"
        pressed = {"user_id": PEER, "peer_id": PEER, "event_id": "x1", "payload": {"b": slot}}
        await client.post("/webhooks/salon/vk", json=event("message_event", "b2", pressed))
        await wait_for(lambda: any(m["message"].startswith("Вы записаны") for m in vk.sent()))
        assert all("intent" not in m for m in vk.sent())  # answers to the client carry none
        visit = await wait_for_async(lambda: latest_visit(runtime.store, "salon", f"salon:vk:{PEER}"))  # type: ignore[arg-type]
        vk.refusals["messages.send"] = [(943, "Cannot use this intent")]
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for_async(lambda: _sent_24h(runtime.store, visit.id, reminder_outcomes))
        tried = [m for m in vk.calls if m[0] == "messages.send"][-2:]
        assert tried[0][1]["intent"] == "confirmed_notification" and "intent" not in tried[1][1]
        # the refused call sent nothing (VK said so); the plain one is the only reminder that went
        assert tried[1][1]["message"].startswith("Напоминаем о записи")
        assert tried[0][1]["message"] == tried[1][1]["message"]


async def _sent_24h(engine: Any, visit_id: int, outcomes: Any) -> bool:
    return ("24h", "sent") in await outcomes(engine, visit_id)


def _delivered(vk: VkStandIn, count: int) -> bool:
    return len(vk.delivered()) == count


async def test_two_answers_with_the_same_words_both_arrive_and_a_retry_keeps_its_id(make_config, portal, telegram, vk):
    def said(n: int, text: str) -> dict[str, Any]:
        body = message_new()
        body["event_id"] = f"ev-p{n}"
        body["object"]["message"].update(id=700 + n, conversation_message_id=700 + n, text=text)
        return body

    async with gateway(vk_config(make_config, portal, telegram, vk)) as (client, _):
        await client.post("/webhooks/salon/vk", json=said(0, "здравствуйте"))  # greeted once, then plain answers
        await wait_for(lambda: len(vk.delivered()) == 1)
        vk.refusals["messages.send"] = [(10, "Internal server error")]  # the next try fails: it is retried
        for n in (1, 2):
            assert (await client.post("/webhooks/salon/vk", json=said(n, "сколько стоит маникюр?"))).text == "ok"
            await wait_for(partial(_delivered, vk, 1 + n))
    _greeting, first_try, retry, second = vk.sent()
    assert first_try["random_id"] == retry["random_id"]  # the same message: VK would drop a double
    assert second["message"] == retry["message"] and second["random_id"] != retry["random_id"]
    assert [d["message"] for d in vk.delivered()[1:]] == [retry["message"]] * 2


async def test_a_group_chat_and_a_button_the_gateway_never_sent_are_ignored_and_odd_shapes_are_not_errors(
    make_config, portal, telegram, vk
):
    async with gateway(vk_config(make_config, portal, telegram, vk)) as (client, _):
        in_group = message_new()
        in_group["event_id"] = "ev-g1"
        in_group["object"]["message"]["peer_id"] = 2_000_000_007
        foreign = event("message_event", "ev-g2", {"user_id": PEER, "peer_id": PEER, "payload": {"cmd": "start"}})
        for body in (in_group, foreign):
            assert (await client.post("/webhooks/salon/vk", json=body)).text == "ok"
        shapes = [
            {**event("message_new", "ev-g3", {}), "object": "text"},
            {**event("message_allow", "ev-g4", {}), "object": [1]},
        ]
        refused = [(await client.post("/webhooks/salon/vk", json=body)).status_code for body in shapes]
        odd = message_new()
        odd["event_id"] = "ev-g5"
        odd["object"]["message"].update(date=10**30, attachments=7, text="хочу маникюр")
        assert (await client.post("/webhooks/salon/vk", json=odd)).text == "ok"
        await wait_for(lambda: len(vk.sent()) == 1)  # only the odd one is a person's message
        metrics = (await client.get("/metrics")).text
    assert refused == [400, 400]
    assert len(portal.state.deals) <= 1 and "Здравствуйте" in vk.sent()[0]["message"]
    assert 'lead_gateway_webhooks_total{channel="vk",outcome="ignored",tenant="salon"} 2.0' in metrics
