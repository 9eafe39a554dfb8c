"""Events that are nothing a client said (a block, a permission, a bot stopped) update a conversation
the gateway has, and for a person it has not seen open no deal, post no note and count no lead."""

from __future__ import annotations

import asyncio

from gateway.store.conversations import load_dialogue
from tests.conftest import SECRET, fixture_json, gateway, wait_for_async
from tests.e2e.test_max import HEADERS as MAX_HEADERS
from tests.e2e.test_max import max_config
from tests.e2e.test_vk import event, vk_config

TELEGRAM = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


async def _unreachable(runtime, key: str) -> bool:
    state = await load_dialogue(runtime.redis, key)
    return state is not None and state.unreachable


async def _reachable(runtime, key: str) -> bool:
    state = await load_dialogue(runtime.redis, key)
    return state is not None and not state.unreachable


async def test_a_block_or_a_permission_from_someone_who_never_wrote_opens_no_deal(
    make_config, portal, telegram, vk, max_api
):
    vk_channels = vk_config(make_config, portal, telegram, vk).tenants["salon"].channels
    max_channels = max_config(make_config, portal, telegram, max_api).tenants["salon"].channels
    config = vk_config(make_config, portal, telegram, vk)
    channels = vk_channels.model_copy(update={"max": max_channels.max})
    config.tenants["salon"] = config.tenants["salon"].model_copy(update={"channels": channels})
    async with gateway(config) as (client, runtime):
        kicked = fixture_json("channels/telegram_06_my_chat_member_kicked.json")
        stopped = fixture_json("channels/max_04_bot_stopped.json")
        denied = event("message_deny", "ev-n1", {"user_id": 4455})
        allowed = event("message_allow", "ev-n2", {"user_id": 4466, "key": "site"})
        assert (await client.post("/webhooks/salon/telegram", json=kicked, headers=TELEGRAM)).status_code == 200
        assert (await client.post("/webhooks/salon/max", json=stopped, headers=MAX_HEADERS)).status_code == 200
        for body in (denied, allowed):
            assert (await client.post("/webhooks/salon/vk", json=body)).text == "ok"
        # each is handled: the conversation is known as unreachable (or reachable) for what the bot starts
        await wait_for_async(lambda: _unreachable(runtime, "salon:telegram:5599887766"))
        await wait_for_async(lambda: _unreachable(runtime, "salon:max:7099887766"))
        await wait_for_async(lambda: _unreachable(runtime, "salon:vk:4455"))
        await wait_for_async(lambda: load_dialogue(runtime.redis, "salon:vk:4466"))
        # a second such event for the same person: the conversation exists now, and still has no deal
        again = event("message_allow", "ev-n3", {"user_id": 4455, "key": "site"})
        assert (await client.post("/webhooks/salon/vk", json=again)).text == "ok"
        await wait_for_async(lambda: _reachable(runtime, "salon:vk:4455"))
        await asyncio.sleep(1.0)  # a CRM sync, had one been queued, runs within this
        queued_syncs = await runtime.redis.zcard("lg:queue:crm")
    assert portal.state.deals == {} and portal.state.comments == {} and portal.state.contacts == {}
    assert queued_syncs == 0
    assert not telegram.sent and not vk.sent() and not max_api.messages
