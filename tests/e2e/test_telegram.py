"""Webhook -> real Redis -> worker -> Bitrix24 (sandbox portal over loopback HTTP) and the reply."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx

from bitrix.sandbox import Faults
from gateway.bootstrap import build_runtime
from gateway.http.app import AppOptions, create_app
from gateway.sandbox.telegram import TelegramSandbox
from gateway.store import dlq, keys
from tests.clock import PINNED
from tests.conftest import SECRET, fixture_json, gateway, wait_for, wait_for_async

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 5512345678


def update(update_id: int, text: str, **message) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1763800000,
            "text": text,
            "from": {"id": CHAT, "is_bot": False, "first_name": "Анна", "username": "anna_p"},
            "chat": {"id": CHAT, "type": "private"},
            **message,
        },
    }


def sent_texts(telegram: TelegramSandbox) -> list[str]:
    return [m["text"] for m in telegram.sent if m["method"] == "sendMessage"]


async def test_deep_link_and_message_make_one_deal_with_contact_utm_timeline_and_replies(make_config, portal, telegram):
    config = make_config(portal.url, telegram.base)
    async with gateway(config) as (client, _runtime):
        start = update(1, "/start spring_ig", entities=[{"offset": 0, "length": 6, "type": "bot_command"}])
        detail = update(2, "Хочу маникюр завтра в 3, мой номер 8 913 123-45-67")
        for _ in range(3):  # Telegram re-delivers; each copy is acknowledged, none does work twice
            for body in (start, detail):
                response = await client.post("/webhooks/salon/telegram", json=body, headers=HEADERS)
                assert response.status_code == 200
        await wait_for(
            lambda: len(portal.state.comments) == 2 and any(d.get("COMMENTS") for d in portal.state.deals.values())
        )
        await wait_for(lambda: len(sent_texts(telegram)) == 2)

    assert len(portal.state.deals) == 1 and len(portal.state.contacts) == 1
    deal = next(iter(portal.state.deals.values()))
    contact = next(iter(portal.state.contacts.values()))
    assert deal["UTM_SOURCE"] == "instagram" and deal["UTM_MEDIUM"] == "cpc" and deal["UTM_CAMPAIGN"] == "spring"
    assert deal["ORIGINATOR_ID"] == "lead-gateway" and deal["ORIGIN_ID"] == f"salon:telegram:{CHAT}"
    assert deal["SOURCE_ID"] == "TELEGRAM" and "spring_ig" in deal["SOURCE_DESCRIPTION"]
    assert deal["TITLE"] == "Маникюр — Анна"
    assert deal["CONTACT_IDS"] == [contact["ID"]]
    assert [p["VALUE"] for p in contact["PHONE"]] == ["+79131234567"]
    assert {m["VALUE"] for m in contact["IM"]} == {f"telegram:{CHAT}", "@anna_p"}
    first, second = sent_texts(telegram)
    assert first.startswith("Здравствуйте, Анна!") and "на какую услугу" in first
    assert second.startswith("Записываем: Маникюр, завтра в 15:00. Телефон +79131234567")
    markup = json.loads(next(m for m in telegram.sent if m["method"] == "sendMessage")["reply_markup"])
    assert markup["inline_keyboard"][0][0]["callback_data"] == "s:haircut_men"


async def test_buttons_fill_the_slots_and_the_phone_is_asked_with_request_contact(make_config, portal, telegram):
    config = make_config(portal.url, telegram.base)
    async with gateway(config) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "здравствуйте"), headers=HEADERS)
        await wait_for(lambda: len(sent_texts(telegram)) == 1)
        press = fixture_json("channels/telegram_05_callback_query.json")
        press["callback_query"]["data"] = "s:manicure"
        assert (await client.post("/webhooks/salon/telegram", json=press, headers=HEADERS)).status_code == 200
        await wait_for(lambda: len(sent_texts(telegram)) == 2)
        ask_time = telegram.sent[-1]
        time_button = json.loads(ask_time["reply_markup"])["inline_keyboard"][0][0]["callback_data"]
        assert time_button.startswith("t:")
        press["update_id"] += 1
        press["callback_query"]["id"] = "2"
        press["callback_query"]["data"] = time_button
        await client.post("/webhooks/salon/telegram", json=press, headers=HEADERS)
        await wait_for(lambda: len(sent_texts(telegram)) == 3)
        ask_phone = json.loads(telegram.sent[-1]["reply_markup"])
        assert ask_phone["keyboard"][0][0]["request_contact"] is True
        share = fixture_json("channels/telegram_03_contact_share.json")
        share["update_id"] = 99
        await client.post("/webhooks/salon/telegram", json=share, headers=HEADERS)
        await wait_for(lambda: len(sent_texts(telegram)) == 4)
        await wait_for(lambda: any(c.get("PHONE") for c in portal.state.contacts.values()))
    assert sum(1 for m in telegram.sent if m["method"] == "answerCallbackQuery") == 2
    assert sent_texts(telegram)[-1].startswith("Записываем: Маникюр")
    assert len(portal.state.deals) == 1
    assert next(iter(portal.state.contacts.values()))["PHONE"][0]["VALUE"] == "+79161234567"


async def test_existing_contact_is_found_by_phone_and_given_the_telegram_identity(make_config, portal, telegram):
    existing = portal.dispatch("crm.contact.add", {"fields": {"NAME": "Анна", "PHONE": [{"VALUE": "8 913 123-45-67"}]}})
    config = make_config(portal.url, telegram.base)
    async with gateway(config) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "маникюр, +7 (913) 1234567"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 1 and portal.state.comments)
        await wait_for(lambda: portal.state.contacts[existing].get("IM"))
    assert list(portal.state.contacts) == [existing]
    assert next(iter(portal.state.deals.values()))["CONTACT_IDS"] == [existing]


async def test_a_create_that_succeeded_but_timed_out_is_found_not_repeated(make_config, portal, telegram):
    portal.faults = Faults(latency_after_ms=800, slow_methods=frozenset({"crm.deal.add"}))
    config = make_config(portal.url, telegram.base)
    async with httpx.AsyncClient(timeout=0.4) as http, gateway(config, http=http) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=HEADERS)

        async def deal_recorded() -> dict | None:
            raw = await runtime.redis.get(f"lg:crm:salon:telegram:{CHAT}")
            link = json.loads(raw) if raw else {}
            return link if link.get("deal_id") and not link.get("timeline_pending") else None

        link = await wait_for_async(deal_recorded)
        scope = runtime.crm_context("salon").scope
        conversation_of_deal = await runtime.redis.get(keys.deal_conversation(scope, link["deal_id"]))
    assert len(portal.state.deals) == 1
    assert link["deal_id"] == next(iter(portal.state.deals))
    assert conversation_of_deal == f"salon:telegram:{CHAT}".encode()  # kept for reminders
    assert portal.state.calls["crm.deal.list"] >= 1  # it looked before creating again
    assert len(portal.state.comments) == 1 and link["timeline_posted"] == 1  # and found its comment posted


async def test_bad_input_gets_clear_errors_and_queues_nothing(make_config, portal, telegram):
    config = make_config(portal.url, telegram.base)
    async with gateway(config) as (client, runtime):
        body = update(1, "привет")
        cases = [
            (await client.post("/webhooks/salon/telegram", json=body), 401, "missing_secret"),
            (
                await client.post(
                    "/webhooks/salon/telegram", json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                ),
                403,
                "bad_secret",
            ),
            (await client.post("/webhooks/other/telegram", json=body, headers=HEADERS), 404, "unknown_tenant"),
            (
                await client.post("/webhooks/salon/telegram", content=b"{not json", headers=HEADERS),
                400,
                "malformed_body",
            ),
            (
                await client.post(
                    "/webhooks/salon/telegram", json={"update_id": 1, "message": {"text": 5}}, headers=HEADERS
                ),
                400,
                "malformed_body",
            ),
            (
                await client.post("/webhooks/salon/telegram", content=b"x" * (1024 * 1024 + 1), headers=HEADERS),
                413,
                "body_too_large",
            ),
        ]
        for response, status, code in cases:
            assert (response.status_code, response.json()["error"]) == (status, code)
        assert await runtime.redis.zcard("lg:queue:inbound") == 0
        edited = fixture_json("channels/telegram_04_edited_message.json")
        ignored = await client.post("/webhooks/salon/telegram", json=edited, headers=HEADERS)
        assert ignored.json() == {"ok": True, "status": "ignored", "reason": "edited message"}
        metrics = (await client.get("/metrics")).text
        assert 'lead_gateway_webhooks_total{channel="telegram",outcome="bad_secret",tenant="salon"} 1.0' in metrics


async def test_redis_down_answers_503_so_telegram_retries(make_config, portal, telegram):
    config = make_config(portal.url, telegram.base)
    runtime = build_runtime(config, "redis://127.0.0.1:1/0", sandbox_base="http://127.0.0.1:1")
    app = create_app(runtime, AppOptions(with_worker=False))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as client,
    ):
        response = await client.post("/webhooks/salon/telegram", json=update(1, "привет"), headers=HEADERS)
        ready = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["error"] == "queue_unavailable"
    assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("unreachable")


async def test_auth_failure_parks_the_work_and_replay_finishes_it(make_config, portal, telegram):
    portal.code = "rotated"  # the admin regenerated the webhook: our URL answers 401
    config = make_config(portal.url, telegram.base)
    async with gateway(config) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "маникюр"), headers=HEADERS)
        await wait_for(lambda: len(sent_texts(telegram)) == 1)  # the client is answered regardless
        await wait_for_async(lambda: dlq.size(runtime.redis))
        parked = await dlq.entries(runtime.redis, "salon")
        assert parked[0]["function"] == "sync_crm" and "NO_AUTH_FOUND" in parked[0]["reason"]
        portal.code = "sandbox"
        assert await dlq.replay(runtime.redis, "salon") == 1
        await wait_for(lambda: len(portal.state.deals) == 1)
        assert await dlq.size(runtime.redis) == 0


async def test_polling_mode_feeds_the_same_pipeline(make_config, portal, telegram):
    polling = {"bot_token": "123456:test-token", "api_base": telegram.base, "mode": "polling"}
    config = make_config(portal.url, telegram.base, channels={"telegram": polling})
    telegram.updates = [update(7, "Хочу маникюр завтра в 3, 8 913 123-45-67")]
    async with gateway(config) as (_client, _runtime):
        await wait_for(lambda: len(sent_texts(telegram)) == 1 and len(portal.state.comments) == 1)
        telegram.updates.append(update(8, "спасибо"))
        await wait_for(lambda: len(sent_texts(telegram)) == 2)
    methods = [m["method"] for m in telegram.sent]
    assert methods[0] == "deleteWebhook" and "getUpdates" in methods
    polls = [m for m in telegram.sent if m["method"] == "getUpdates"]
    assert any(p.get("offset") == "8" for p in polls)  # update 7 confirmed by the next offset
    assert len(portal.state.deals) == 1 and sent_texts(telegram)[0].startswith("Здравствуйте")


async def test_two_replicas_polling_one_bot_take_turns_never_both(make_config, portal, telegram):
    polling = {"bot_token": "123456:test-token", "api_base": telegram.base, "mode": "polling"}
    config = make_config(portal.url, telegram.base, channels={"telegram": polling})
    telegram.updates = [update(7, "Хочу маникюр завтра в 3")]
    deletes = lambda: [m for m in telegram.sent if m["method"] == "deleteWebhook"]  # noqa: E731 - one per poller start
    async with gateway(config) as (_c, _r):
        second = gateway(config)
        await second.__aenter__()
        try:
            await wait_for(lambda: len(sent_texts(telegram)) == 1)
            await asyncio.sleep(0.6)  # three of the second replica's turns to ask for the lease
            assert len(deletes()) == 1
        finally:
            await second.__aexit__(None, None, None)
    async with gateway(config) as (_c, _r):  # the lease was released: the next replica polls at once
        telegram.updates.append(update(8, "спасибо"))
        await wait_for(lambda: len(sent_texts(telegram)) == 2)
    # the first replica may have taken over for the moment between the second's stop and its own
    assert 2 <= len(deletes()) <= 3


async def test_qualified_deal_gets_user_fields_stage_and_the_tenants_own_texts(make_config, portal, telegram):
    config = make_config(
        portal.url,
        telegram.base,
        bitrix={
            "webhook_url": portal.url,
            "fields": {"service": "UF_CRM_SERVICE", "desired_time": "UF_CRM_WHEN"},
            "qualified_stage_id": "PREPARATION",
        },
        texts={"confirm": "Готово: {service}, {when}. Ждём вас! ({phone})"},
    )
    async with gateway(config) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "сколько у вас стоит?"), headers=HEADERS)
        await wait_for(lambda: len(sent_texts(telegram)) == 1)
        await client.post(
            "/webhooks/salon/telegram", json=update(2, "Хочу маникюр завтра в 3, 8 913 123-45-67"), headers=HEADERS
        )
        await wait_for(lambda: any(d.get("STAGE_ID") == "PREPARATION" for d in portal.state.deals.values()))
        await wait_for(lambda: len(sent_texts(telegram)) == 2)
        await client.post("/webhooks/salon/telegram", json=update(3, "ой, мне нужно отменить запись"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.comments) == 3)
    price_list, confirmation, cancelled = sent_texts(telegram)
    assert "Мужская стрижка: 1 200 ₽." in price_list and "Маникюр: 1 500 ₽." in price_list
    assert confirmation == "Готово: Маникюр, завтра в 15:00. Ждём вас! (+79131234567)"
    deal = next(iter(portal.state.deals.values()))
    tomorrow = (PINNED + timedelta(days=1)).date()
    assert deal["UF_CRM_SERVICE"] == "Маникюр" and deal["UF_CRM_WHEN"] == f"{tomorrow}T15:00:00+07:00"
    assert "передали администратору" in cancelled
    notes = [c["COMMENT"] for c in portal.state.comments.values()]
    assert any("[нужен администратор: отмена записи]" in note for note in notes)


async def test_a_flood_is_recorded_whole_but_answered_only_within_the_reply_budget(make_config, portal, telegram):
    from gateway.settings import LimitsConfig

    config = make_config(portal.url, telegram.base).model_copy(
        update={"limits": LimitsConfig(replies_per_conversation_minute=3)}
    )
    async with gateway(config) as (client, _runtime):
        for n in range(1, 16):
            response = await client.post("/webhooks/salon/telegram", json=update(n, f"сообщение {n}"), headers=HEADERS)
            assert response.status_code == 200
        await wait_for(lambda: len(portal.state.comments) == 15, limit=30)
        metrics = (await client.get("/metrics")).text
    assert len(sent_texts(telegram)) == 3
    assert 'lead_gateway_replies_total{channel="telegram",outcome="throttled"} 12.0' in metrics


async def test_readyz_fails_when_the_in_process_worker_stops(make_config, portal, telegram):
    import asyncio

    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        await wait_for_async(lambda: _ready(client))
        app = client._transport.app  # type: ignore[attr-defined]
        app.state.worker_task.cancel()
        await asyncio.gather(app.state.worker_task, return_exceptions=True)
        response = await client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["worker"] == "stopped"


async def _ready(client) -> bool:
    response = await client.get("/readyz")
    return response.status_code == 200 and response.json()["checks"]["worker"] == "ok"
