"""Robots send through the gateway (Bitrix24 app mode): the app registers a message provider at install,
and a robot's or a card's "send SMS" reaches the client in the messenger the platform vouches they write
from, once, never in quiet hours, never after a stop, by SMS when no messenger of theirs can take it; its
status goes back to Bitrix24. The sandbox portal calls the provider's handler as Bitrix24 does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bitrix.sandbox_app import SandboxApp
from tests.clock import running
from tests.conftest import free_port, served, wait_for, wait_for_async
from tests.e2e.test_appointments import own_contact
from tests.e2e.test_manager_chat import CONVERSATION, app_config, install, served_gateway
from tests.e2e.test_manager_chat import app_portal as app_portal  # the fixture
from tests.e2e.test_telegram import CHAT, HEADERS, sent_texts, update
from tests.sms_stand_in import SmsStandIn

HER_PHONE = "+79131234567"
DEAL, CONTACT = 2, 3  # Bitrix24's OWNER_TYPE_ID


@pytest.fixture
def sms() -> Iterator[SmsStandIn]:
    yield from served(SmsStandIn())


def robot_config(app_portal: SandboxApp, telegram: Any, sms: SmsStandIn, port: int) -> Any:
    settings = {"provider": "smsru", "api_id": "sms-api-id", "sender": "Salon", "api_base": sms.base}
    lifecycle = {"quiet_hours": "21:00-09:00"}
    bitrix = {"visit_field": "UF_CRM_VISIT_AT"}
    return app_config(app_portal, telegram, port, sms=settings, lifecycle=lifecycle, bitrix=bitrix)


async def test_a_robots_message_reaches_the_client_in_their_messenger_once_and_its_status_is_reported(
    app_portal, telegram, sms, redis, store_url
):
    port = free_port()
    async with served_gateway(robot_config(app_portal, telegram, sms, port), store_url, port) as (client, _):
        assert (await install(app_portal, port)).status_code == 200
        await wait_for(lambda: "lead_gateway" in app_portal.providers)
        provider = app_portal.providers["lead_gateway"]
        assert provider["TYPE"] == "SMS" and provider["HANDLER"] == f"http://127.0.0.1:{port}/bitrix/salon/app/sms"
        # installing again updates the provider instead of adding a second one (which Bitrix24 refuses)
        assert (await install(app_portal, port)).status_code == 200
        await wait_for(lambda: len(app_portal.bindings) == 4)

        # the client writes and shares her own number with Telegram's button: the platform vouches for it
        await client.post("/webhooks/salon/telegram", json=update(1, "здравствуйте"), headers=HEADERS)
        await wait_for(lambda: len(sent_texts(telegram)) == 1)
        await client.post("/webhooks/salon/telegram", json=own_contact(2, CHAT, HER_PHONE), headers=HEADERS)
        deal_id = await wait_for_async(lambda: _deal_of(redis))
        await wait_for_async(lambda: _has_contact(redis, deal_id))
        before = len(sent_texts(telegram))

        # a robot on her deal sends to her number as the CRM writes it: Telegram takes it, not SMS
        message_id, answer = await app_portal.robot_sends(
            "lead_gateway", "8 (913) 123-45-67", "Ваш заказ готов", bindings=((DEAL, deal_id),), module="bizproc"
        )
        assert answer.status_code == 200 and answer.json()["status"] == "queued"
        await wait_for(lambda: app_portal.statuses.get(message_id) == ["delivered"])
        assert sent_texts(telegram)[before:] == ["Ваш заказ готов"] and sms.sent == []
        chat = next(iter(app_portal.chats.values()))  # the manager sees it in her chat, as the bot's
        await wait_for(lambda: any(m["text"] == "🤖 Ваш заказ готов" for m in chat.messages))

        # Bitrix24 calls the handler again with the same message: it is not sent twice
        again = await client.post(
            "/bitrix/salon/app/sms", data=_form(app_portal, message_id, HER_PHONE, "Ваш заказ готов")
        )
        assert again.status_code == 200 and again.json()["status"] == "duplicate"

        # quiet hours: held (reported queued) until 09:00, then sent
        clock = running()
        evening = clock.local().replace(hour=22, minute=0, second=0)
        clock.move_to(evening)
        late_id, _ = await app_portal.robot_sends("lead_gateway", HER_PHONE, "Напоминаем о записи", ((CONTACT, 0),))
        await wait_for(lambda: app_portal.statuses.get(late_id) == ["queued"])
        late_bound = await app_portal.robot_sends("lead_gateway", HER_PHONE, "Ждём вас", ((DEAL, deal_id),))
        await wait_for(lambda: app_portal.statuses.get(late_bound[0]) == ["queued"])
        assert sent_texts(telegram)[-1] == "Ваш заказ готов"
        clock.move_to(evening + timedelta(hours=11, seconds=1))  # 09:00:01 the next morning
        await wait_for(lambda: app_portal.statuses.get(late_bound[0]) == ["queued", "delivered"], limit=20)
        assert sent_texts(telegram)[-1] == "Ждём вас"
        # a contact binding with no conversation of hers: no messenger is vouched for, so it went by SMS
        await wait_for(lambda: app_portal.statuses.get(late_id) == ["queued", "sent"])
        assert [m["to"] for m in sms.sent] == ["79131234567"] and sms.sent[0]["msg"] == "Напоминаем о записи"

        # a number on her deal that no platform vouches is hers (typed by anyone): never her Telegram
        other_id, _ = await app_portal.robot_sends("lead_gateway", "+79130000000", "Код 1234", ((DEAL, deal_id),))
        await wait_for(lambda: app_portal.statuses.get(other_id) == ["sent"])
        assert sms.sent[-1]["to"] == "79130000000" and sent_texts(telegram)[-1] == "Ждём вас"

        # she says stop: nothing more reaches her, and Bitrix24 shows it undelivered
        await client.post("/webhooks/salon/telegram", json=update(3, "стоп"), headers=HEADERS)
        await wait_for(lambda: any("больше не будем" in t for t in sent_texts(telegram)))
        count, sms_count = len(sent_texts(telegram)), len(sms.sent)
        stopped_id, _ = await app_portal.robot_sends("lead_gateway", HER_PHONE, "Акция!", ((DEAL, deal_id),))
        await wait_for(lambda: app_portal.statuses.get(stopped_id) == ["undelivered"])
        assert len(sent_texts(telegram)) == count and len(sms.sent) == sms_count


async def test_a_provider_call_without_the_installations_token_or_a_message_is_refused(
    app_portal, telegram, sms, redis, store_url
):
    port = free_port()
    async with served_gateway(robot_config(app_portal, telegram, sms, port), store_url, port) as (client, _):
        assert (await install(app_portal, port)).status_code == 200
        await wait_for(lambda: "lead_gateway" in app_portal.providers)
        form = _form(app_portal, "m1", HER_PHONE, "Текст")
        unsigned = {k: v for k, v in form.items() if not k.startswith("auth")}
        assert (await client.post("/bitrix/salon/app/sms", data=unsigned)).status_code == 401
        forged = {**form, "auth[application_token]": "another-apps-token"}
        assert (await client.post("/bitrix/salon/app/sms", data=forged)).status_code == 403
        empty = {**form, "message_body": " "}
        refused = await client.post("/bitrix/salon/app/sms", data=empty)
        assert refused.status_code == 400 and refused.json()["error"] == "malformed_body"
        assert (await client.post("/bitrix/nobody/app/sms", data=form)).status_code == 404
        assert app_portal.statuses == {} and sms.sent == []


def _form(app_portal: SandboxApp, message_id: str, to: str, text: str) -> dict[str, str]:
    return {
        "module_id": "crm",
        "type": "SMS",
        "code": "lead_gateway",
        "message_id": message_id,
        "message_to": to,
        "message_body": text,
        "auth[application_token]": app_portal.application_token,
    }


async def _deal_of(redis: Any) -> int | None:
    from gateway.store.conversations import load_link

    return (await load_link(redis, CONVERSATION)).deal_id


async def _has_contact(redis: Any, deal_id: int) -> bool:
    from gateway.store.conversations import load_link

    link = await load_link(redis, CONVERSATION)
    return link.deal_id == deal_id and link.contact_id is not None
