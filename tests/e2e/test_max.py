"""MAX bots end to end, on the Bot API's update shapes (tests/fixtures/channels/max_*.json with their
sources): the webhook's secret header, dedupe by message id, replies with inline callback keyboards, a
pressed button answered, the deep link of bot_started as UTM, long polling, and a refused send."""

from __future__ import annotations

from typing import Any

from gateway.store.conversations import load_dialogue
from tests.conftest import SECRET as TG_SECRET
from tests.conftest import fixture_json, gateway, wait_for, wait_for_async
from tests.max_stand_in import MaxStandIn

MAX_SECRET, TOKEN, CHAT = "max-webhook-secret", "max-bot-token", "7012345"
HEADERS = {"X-Max-Bot-Api-Secret": MAX_SECRET}


def max_config(make_config: Any, portal: Any, telegram: Any, api: MaxStandIn, **bot: Any) -> Any:
    channel = {"bot_token": TOKEN, "secret": MAX_SECRET, "api_base": api.base, **bot}
    telegram_channel = {"bot_token": "123456:test-token", "secret_token": TG_SECRET, "api_base": telegram.base}
    return make_config(portal.url, telegram.base, channels={"telegram": telegram_channel, "max": channel})


async def test_the_webhook_takes_only_its_secret_and_answers_with_buttons(make_config, portal, telegram, max_api):
    async with gateway(max_config(make_config, portal, telegram, max_api)) as (client, _):
        created = fixture_json("channels/max_01_message_created.json")
        assert (await client.post("/webhooks/salon/max", json=created)).status_code == 401
        wrong = {"X-Max-Bot-Api-Secret": "guess"}
        assert (await client.post("/webhooks/salon/max", json=created, headers=wrong)).status_code == 403
        assert (await client.post("/webhooks/salon/max", content=b"[]", headers=HEADERS)).status_code == 400
        first = await client.post("/webhooks/salon/max", json=created, headers=HEADERS)
        again = await client.post("/webhooks/salon/max", json=created, headers=HEADERS)
        assert (first.json()["status"], again.json()["status"]) == ("queued", "duplicate")
        await wait_for(lambda: len(max_api.messages) == 1)
        reply = max_api.messages[0]
        assert (
            reply["chat_id"] == CHAT
            and reply["token"] == TOKEN
            and reply["body"]["text"].startswith("Здравствуйте, Мария")
        )
        pressed = fixture_json("channels/max_02_message_callback.json")
        assert (await client.post("/webhooks/salon/max", json=pressed, headers=HEADERS)).json()["status"] == "queued"
        await wait_for(lambda: len(max_api.messages) == 2 and len(max_api.answers) == 1)
        assert max_api.answers == ["f9LHodD0cOIxJ7SmuHx3vjZ6K0e5ZAAfAAAA"]
        ignored = {"update_type": "message_edited", "timestamp": 1764494000000, "message": {}}
        assert (await client.post("/webhooks/salon/max", json=ignored, headers=HEADERS)).json()["status"] == "ignored"
        await wait_for(lambda: bool(portal.state.deals))
        assert next(iter(portal.state.deals.values()))["SOURCE_ID"] == "MAX"


async def test_a_keyboard_is_an_inline_attachment_of_callback_buttons(make_config, portal, telegram, max_api):
    async with gateway(max_config(make_config, portal, telegram, max_api)) as (client, _):
        started = fixture_json("channels/max_03_bot_started.json")
        assert (await client.post("/webhooks/salon/max", json=started, headers=HEADERS)).json()["status"] == "queued"
        await wait_for(lambda: len(max_api.messages) == 1)
        (attachment,) = max_api.messages[0]["body"]["attachments"]
        assert attachment["type"] == "inline_keyboard"
        rows = attachment["payload"]["buttons"]
        assert rows[0][0] == {"type": "callback", "text": "Мужская стрижка", "payload": "s:haircut_men"}
        await wait_for(lambda: bool(portal.state.deals))
        deal = next(iter(portal.state.deals.values()))
        assert (deal["UTM_SOURCE"], deal["UTM_CAMPAIGN"]) == ("instagram", "spring")  # the deep link's tags
        # the client typed nothing: the timeline says what happened, never a «/start» they did not write
        await wait_for(lambda: bool(portal.state.comments))
        comment = next(iter(portal.state.comments.values()))["COMMENT"]
        assert "[клиент открыл бота, код ссылки spring_ig]" in comment and "/start" not in comment


async def test_a_polled_bot_gets_its_updates_by_marker_and_a_stopped_bot_is_unreachable(
    make_config, portal, telegram, max_api
):
    config = max_config(make_config, portal, telegram, max_api, mode="polling", secret=None)
    max_api.updates.append(fixture_json("channels/max_01_message_created.json"))
    async with gateway(config) as (client, runtime):
        await wait_for(lambda: len(max_api.messages) == 1, limit=20)
        assert (await client.post("/webhooks/salon/max", json={}, headers=HEADERS)).status_code == 404  # polled
        max_api.refuse_status = 403  # the person stopped the bot
        later = fixture_json("channels/max_01_message_created.json")
        later["message"]["body"]["mid"] = "mid.0000000000a1b2c9"
        max_api.updates.append(later)
        key = f"salon:max:{CHAT}"
        state = await wait_for_async(lambda: _unreachable(runtime, key), limit=20)
        assert state.unreachable and len(max_api.messages) == 1


async def _unreachable(runtime: Any, key: str) -> Any:
    state = await load_dialogue(runtime.redis, key)
    return state if state is not None and state.unreachable else None


async def test_a_refused_acknowledgement_loses_no_press(make_config, portal, telegram, max_api):
    max_api.refuse_answers = True
    async with gateway(max_config(make_config, portal, telegram, max_api)) as (client, _):
        created = fixture_json("channels/max_01_message_created.json")
        await client.post("/webhooks/salon/max", json=created, headers=HEADERS)
        await wait_for(lambda: len(max_api.messages) == 1)
        pressed = fixture_json("channels/max_02_message_callback.json")
        assert (await client.post("/webhooks/salon/max", json=pressed, headers=HEADERS)).json()["status"] == "queued"
        await wait_for(lambda: len(max_api.messages) == 2)  # answered though /answers said 400
    assert max_api.answers == []


async def test_a_group_chat_is_ignored_and_counted_and_odd_shapes_are_not_errors(
    make_config, portal, telegram, max_api
):
    async with gateway(max_config(make_config, portal, telegram, max_api)) as (client, _):
        in_group = fixture_json("channels/max_01_message_created.json")
        in_group["message"]["recipient"] = {"chat_id": -7012345, "chat_type": "chat"}
        answer = await client.post("/webhooks/salon/max", json=in_group, headers=HEADERS)
        assert answer.json() == {"ok": True, "status": "ignored", "type": "group chat"}
        odd = fixture_json("channels/max_01_message_created.json")
        odd["timestamp"] = 10**30
        odd["message"]["timestamp"] = 10**30
        odd["message"]["body"].update(mid="mid.odd", attachments=7)
        assert (await client.post("/webhooks/salon/max", json=odd, headers=HEADERS)).json()["status"] == "queued"
        await wait_for(lambda: len(max_api.messages) == 1)  # the odd one answered, the group's never
        metrics = (await client.get("/metrics")).text
    assert max_api.messages[0]["chat_id"] == CHAT
    assert 'lead_gateway_webhooks_total{channel="max",outcome="ignored",tenant="salon"} 1.0' in metrics
