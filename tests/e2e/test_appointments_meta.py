"""Reminders on WhatsApp and Instagram once the 24-hour window has closed: the approved template with the
visit's details, or nothing sent and a note on the deal for a manager."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.store.sql.agenda import reminder_outcomes
from gateway.store.sql.engine import async_url
from gateway.store.sql.visits import latest_visit
from tests.clock import TZ, stamp
from tests.conftest import IG_SECRET, WA_SECRET, fixture_json, gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import Clock, said, visit_day
from tests.e2e.test_meta import signed, whatsapp_text

WA_CONV, IG_CONV = "salon:whatsapp:16505551234", "salon:instagram:1234567890123456"


def lifecycle(meta_config: Any, portal: Any) -> Any:
    extra = {
        "bitrix": {
            "webhook_url": portal.url,
            "visit_field": "UF_CRM_VISIT_AT",
            "rate_limit": {"burst": 50, "per_second": 20},
        },
        "lifecycle": {
            "reminders": ["24h"],
            "quiet_hours": None,
            "templates": {"reminder": {"name": "visit_reminder", "language": "ru"}},
        },
    }
    return meta_config(extra)


def whatsapp_button(wamid: str, payload: str) -> dict[str, Any]:
    body = fixture_json("channels/whatsapp_03_interactive_button_reply.json")
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, timestamp=str(stamp()))
    message["interactive"]["button_reply"] = {"id": payload, "title": "15:00"}
    return body


def instagram(mid: str, text: str | None = None, quick_reply: str | None = None) -> dict[str, Any]:
    body = copy.deepcopy(fixture_json("channels/instagram_06_quick_reply.json"))
    event = body["entry"][0]["messaging"][0]
    event["timestamp"] = stamp() * 1000
    event["message"] = {"mid": mid, "text": text or quick_reply}
    if quick_reply:
        event["message"]["quick_reply"] = {"payload": quick_reply}
    return body


async def test_whatsapp_reminder_outside_the_window_is_the_template_with_the_visits_details(
    meta_config, portal, graph, database_url
):
    clock, day = Clock(), visit_day()
    store_url = async_url(database_url, Path("."))
    async with gateway(lifecycle(meta_config, portal), store_url=store_url, clock=clock) as (client, runtime):
        first = whatsapp_text("wamid.B1", f"Хочу маникюр {said(day)}")
        first["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(stamp())
        raw, headers = signed(first, WA_SECRET)
        assert (await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)).status_code == 200
        await wait_for(lambda: len(graph.delivered()) == 1)
        slot = f"b:{day:%Y-%m-%dT%H:%M}"
        offered = [b["reply"]["id"] for b in graph.delivered()[0]["interactive"]["action"]["buttons"]]
        assert slot in offered
        raw, headers = signed(whatsapp_button("wamid.B2", slot), WA_SECRET)
        await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        await wait_for(lambda: len(graph.delivered()) == 2)
        assert graph.delivered()[1]["text"]["body"].startswith("Вы записаны: Маникюр")

        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))  # 2+ days after the client's last message
        await wait_for(lambda: len(graph.delivered()) == 3)
        template = graph.delivered()[2]
        assert template["type"] == "template" and template["to"] == "+16505551234"
        assert template["template"]["name"] == "visit_reminder"
        params = [p["text"] for p in template["template"]["components"][0]["parameters"]]
        assert params == ["Маникюр", f"{day:%d.%m.%Y}", "15:00"]
        visit = await latest_visit(runtime.store, "salon", WA_CONV)  # type: ignore[arg-type]
        assert visit is not None
        await wait_for_async(lambda: _outcomes(runtime.store, visit.id, [("24h", "template")]))


async def test_instagram_reminder_outside_the_window_is_not_sent_and_the_deal_says_to_call(
    meta_config, portal, graph, database_url
):
    clock, day = Clock(), visit_day()
    store_url = async_url(database_url, Path("."))
    async with gateway(lifecycle(meta_config, portal), store_url=store_url, clock=clock) as (client, runtime):
        raw, headers = signed(instagram("m1", f"Хочу маникюр {said(day)}, мой номер 8 913 123-45-67"), IG_SECRET)
        assert (await client.post("/webhooks/salon/instagram", content=raw, headers=headers)).status_code == 200
        await wait_for(lambda: len(graph.delivered()) == 1)
        slot = f"b:{day:%Y-%m-%dT%H:%M}"
        assert slot in [q["payload"] for q in graph.delivered()[0]["message"]["quick_replies"]]
        raw, headers = signed(instagram("m2", quick_reply=slot), IG_SECRET)
        await client.post("/webhooks/salon/instagram", content=raw, headers=headers)
        await wait_for(lambda: len(graph.delivered()) == 2)
        visit = await wait_for_async(lambda: _with_deal(runtime.store, IG_CONV))

        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for(
            lambda: any("не разрешает писать первым" in c["COMMENT"] for c in portal.state.comments.values())
        )
        assert len(graph.delivered()) == 2
        assert await reminder_outcomes(runtime.store, visit.id) == [("24h", "window_closed")]  # type: ignore[arg-type]
        deal = portal.state.deals[visit.deal_id]
        assert datetime.fromisoformat(deal["UF_CRM_VISIT_AT"]) == day.astimezone(TZ)


async def _outcomes(engine: Any, visit_id: int, expected: list[tuple[str, str]]) -> bool:
    return await reminder_outcomes(engine, visit_id) == expected


async def _with_deal(engine: Any, conversation: str) -> Any:
    visit = await latest_visit(engine, "salon", conversation)
    return visit if visit is not None and visit.deal_id is not None else None


async def test_a_reminder_the_blocked_telegram_cannot_take_goes_to_the_clients_whatsapp(
    make_config, portal, graph, telegram, database_url
):
    from tests.conftest import NUMBER_ID, SECRET
    from tests.e2e.test_appointments import HEADERS, book, own_contact, sent

    channels = {
        "telegram": {"bot_token": "123456:test-token", "secret_token": SECRET, "api_base": telegram.base},
        "whatsapp": {
            "phone_number_id": NUMBER_ID,
            "access_token": "wa-token",
            "app_secret": WA_SECRET,
            "verify_token": "wa-verify",
            "api_base": f"{graph.base}/v21.0",
        },
    }
    bitrix = {
        "webhook_url": portal.url,
        "visit_field": "UF_CRM_VISIT_AT",
        "rate_limit": {"burst": 50, "per_second": 20},
    }
    lifecycle_settings = {
        "reminders": ["24h"],
        "quiet_hours": None,
        "templates": {"reminder": {"name": "visit_reminder", "language": "ru"}},
    }
    config = make_config(portal.url, telegram.base, channels=channels, bitrix=bitrix, lifecycle=lifecycle_settings)
    clock, day = Clock(), visit_day()
    async with gateway(config, store_url=async_url(database_url, Path(".")), clock=clock) as (client, runtime):
        await book(client, telegram, day)  # on Telegram, with the phone +79131234567 typed
        # shared with Telegram's own button: vouched for, so her WhatsApp from that number is her too
        await client.post("/webhooks/salon/telegram", json=own_contact(9, 5512345678), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram)) == 3)  # the bot's answer to the shared contact
        await wait_for(lambda: any(d.get("UF_CRM_VISIT_AT") for d in portal.state.deals.values()))
        # the same person writes on WhatsApp from that number: the same contact, another conversation
        hello = whatsapp_text("wamid.C1", "Здравствуйте")
        value = hello["entry"][0]["changes"][0]["value"]
        value["contacts"][0]["wa_id"] = value["messages"][0]["from"] = "79131234567"
        value["messages"][0]["timestamp"] = str(stamp())
        raw, headers = signed(hello, WA_SECRET)
        assert (await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)).status_code == 200
        await wait_for(lambda: len(portal.state.deals) == 2 and len(graph.delivered()) == 1)
        assert len(portal.state.contacts) == 1
        telegram.blocked.add(5512345678)
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for(lambda: len(graph.delivered()) == 2, limit=20)
        template = graph.delivered()[1]
        assert template["to"] == "+79131234567" and template["template"]["name"] == "visit_reminder"
        visit = await latest_visit(runtime.store, "salon", "salon:telegram:5512345678")  # type: ignore[arg-type]
        assert visit is not None
        await wait_for_async(lambda: _outcomes(runtime.store, visit.id, [("24h", "template")]))
        assert len(sent(telegram)) == 3  # the booking's two replies and the contact's; the reminder could not go there
        await wait_for(lambda: any("отправлено в WhatsApp" in c["COMMENT"] for c in portal.state.comments.values()))


# Meta's error for a person who chose to stop this business's marketing messages on WhatsApp.
OPTED_OUT = {
    "message": "Unable to deliver message",
    "type": "OAuthException",
    "code": 131050,
    "error_data": {"details": "This recipient has chosen to stop receiving marketing messages on WhatsApp"},
}


async def test_whatsapps_own_marketing_opt_out_is_the_persons_stop_everywhere(meta_config, portal, graph, database_url):
    from domain import ConsentAnswer
    from gateway.store.sql.consents import standing_of

    clock, day = Clock(), visit_day()
    bitrix = {"webhook_url": portal.url, "visit_field": "UF_CRM_VISIT_AT", "application_token": "portal-app-token"}
    offers = {
        "quiet_hours": None,
        "consent": {"policy_url": "https://salon.example/privacy", "text_version": "2026-11"},
        "retention": ["1h"],
    }
    config = meta_config({"bitrix": {**bitrix, "rate_limit": {"burst": 50, "per_second": 20}}, "lifecycle": offers})
    store_url = async_url(database_url, Path("."))
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        first = whatsapp_text("wamid.C1", f"Хочу маникюр {said(day)}")
        first["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(stamp())
        raw, headers = signed(first, WA_SECRET)
        await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        await wait_for(lambda: len(graph.delivered()) == 1)
        for index, payload in enumerate((f"b:{day:%Y-%m-%dT%H:%M}", "k:y")):
            raw, headers = signed(whatsapp_button(f"wamid.C{index + 2}", payload), WA_SECRET)
            await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
            await wait_for(lambda: len(graph.delivered()) == 3 + index, limit=20)  # noqa: B023 - awaited here
        visit = await wait_for_async(lambda: _with_deal(runtime.store, WA_CONV))
        portal.dispatch("crm.deal.update", {"id": visit.deal_id, "fields": {"STAGE_ID": "WON"}})
        from tests.e2e.test_appointments import event_form

        await client.post("/bitrix/salon/events", data=event_form("ONCRMDEALUPDATE", visit.deal_id))
        await wait_for_async(lambda: _planned(runtime.store, visit.id))
        graph.refusals.append((400, OPTED_OUT))
        clock.move_to(clock() + timedelta(hours=1, seconds=5))
        await wait_for_async(lambda: _outcome(runtime.store, visit.id, "retention:1h", "opted_out"))
        standing = await standing_of(runtime.store, "salon", ["+16505551234"])  # type: ignore[arg-type]
        assert standing == ConsentAnswer.STOP
        assert len(graph.delivered()) == 4


async def _planned(engine: Any, visit_id: int) -> bool:
    from gateway.store.sql.agenda import planned_reminders

    return [kind for kind, _ in await planned_reminders(engine, visit_id)] == ["retention:1h"]


async def _outcome(engine: Any, visit_id: int, kind: str, outcome: str) -> bool:
    return dict(await reminder_outcomes(engine, visit_id)).get(kind) == outcome
