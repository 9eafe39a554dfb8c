"""WhatsApp and Instagram: signed webhook -> real Redis -> worker -> sandbox portal, and the reply via Graph."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import partial

import pytest

from adapters.meta.signature import sign
from domain import Channel, InboundMessage
from gateway.cli.check import run_checks
from gateway.usecases.conversation.incoming import handle_message
from tests.clock import PINNED
from tests.conftest import (
    ACCOUNT,
    IG_SECRET,
    NUMBER_ID,
    WA_SECRET,
    fixture_json,
    gateway,
    wait_for,
    wait_for_async,
)


def signed(payload: object, secret: str) -> tuple[bytes, dict[str, str]]:
    # Meta escapes non-ASCII in the body it signs; the check must use these exact bytes.
    raw = json.dumps(payload).encode()
    return raw, {"X-Hub-Signature-256": sign(raw, secret), "Content-Type": "application/json"}


def whatsapp_text(wamid: str, text: str, **message) -> dict:
    payload = fixture_json("channels/whatsapp_02_ctwa_referral.json")
    body = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    body.update(id=wamid, text={"body": text}, **message)
    return payload


async def test_whatsapp_ad_click_makes_one_deal_with_utm_contact_and_reply_however_often_it_comes(
    meta_config, portal, graph
):
    async with gateway(meta_config()) as (client, _runtime):
        first = whatsapp_text("wamid.A1", "Здравствуйте! Хочу на маникюр завтра в 3")
        raw, headers = signed(first, WA_SECRET)
        for _ in range(3):  # Meta retries for days; every copy is acknowledged, none does work twice
            response = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
            assert response.status_code == 200
        assert response.json()["duplicate"] == 1
        await wait_for(lambda: len(graph.delivered()) == 1 and len(portal.state.comments) == 1)
    assert len(portal.state.deals) == 1 and len(portal.state.contacts) == 1
    deal = next(iter(portal.state.deals.values()))
    contact = next(iter(portal.state.contacts.values()))
    assert (deal["UTM_SOURCE"], deal["UTM_MEDIUM"]) == ("whatsapp", "paid")
    assert (deal["UTM_CONTENT"], deal["UTM_CAMPAIGN"]) == ("120226305854810726", "Chat with us")
    assert "ctwa_clid" in deal["SOURCE_DESCRIPTION"] and deal["SOURCE_ID"] == "WHATSAPP"
    assert deal["ORIGIN_ID"] == "salon:whatsapp:16505551234" and deal["TITLE"] == "Маникюр — Sheena Nelson"
    assert [p["VALUE"] for p in contact["PHONE"]] == ["+16505551234"]  # the wa_id is the client's number
    assert {m["VALUE"] for m in contact["IM"]} == {"whatsapp:16505551234"}
    reply = graph.delivered()[0]
    assert reply["to"] == "+16505551234" and reply["messaging_product"] == "whatsapp"
    assert graph.sent[0]["token"] == "Bearer wa-token" and graph.sent[0]["account"] == NUMBER_ID
    assert reply["type"] == "text" and "Маникюр, завтра в 15:00" in reply["text"]["body"]


async def test_whatsapp_button_choice_fills_the_slot(meta_config, portal, graph):
    async with gateway(meta_config()) as (client, _runtime):
        raw, headers = signed(whatsapp_text("wamid.B1", "Добрый день"), WA_SECRET)
        await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        await wait_for(lambda: len(graph.delivered()) == 1)
        offered = graph.delivered()[0]["interactive"]["action"]
        rows = offered.get("buttons") or offered["sections"][0]["rows"]
        manicure = next(r for r in rows if "Маникюр" in json.dumps(r, ensure_ascii=False))
        choice_id = manicure.get("reply", manicure)["id"]
        press = whatsapp_text("wamid.B2", "")
        message = press["entry"][0]["changes"][0]["value"]["messages"][0]
        del message["text"], message["referral"]
        message.update(
            type="interactive", interactive={"type": "list_reply", "list_reply": {"id": choice_id, "title": "Маникюр"}}
        )
        raw, headers = signed(press, WA_SECRET)
        await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        await wait_for(lambda: len(graph.delivered()) == 2)
        await wait_for(lambda: any("Маникюр" in d["TITLE"] for d in portal.state.deals.values()))
    assert "Когда вам удобно" in json.dumps(graph.delivered()[1], ensure_ascii=False)


def whatsapp_message(wamid: str, kind: str, body: dict) -> dict:
    """A WhatsApp message of another type than text, from the same client as `whatsapp_text`."""
    payload = whatsapp_text(wamid, "")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"], message["referral"]
    message.update({"type": kind, kind: body})
    return payload


async def test_whatsapp_edit_updates_the_deal_without_a_second_reply_and_a_revoke_is_only_noted(
    meta_config, portal, graph
):
    async with gateway(meta_config()) as (client, _runtime):
        edit = {"original_message_id": "wamid.E1", "message": {"type": "text", "text": {"body": "Хочу педикюр"}}}
        payloads = (
            whatsapp_text("wamid.E1", "Хочу маникюр в пятницу"),
            whatsapp_message("wamid.E2", "edit", edit),
            whatsapp_message("wamid.E3", "revoke", {"original_message_id": "wamid.E1"}),
        )
        for count, payload in enumerate(payloads, start=1):  # one at a time: their order is the test's
            raw, headers = signed(payload, WA_SECRET)
            assert (await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)).status_code == 200
            await wait_for(partial(lambda n: len(portal.state.comments) == n, count))
    comments = [c["COMMENT"] for c in sorted(portal.state.comments.values(), key=lambda c: c["ID"])]
    assert comments[1].endswith("Клиент: [исправлено] Хочу педикюр")
    assert comments[2].endswith("Клиент: [клиент удалил сообщение]")
    assert not any("[edit]" in c or "[revoke]" in c for c in comments)
    assert len(graph.delivered()) == 1  # the first message's reply only


async def test_a_whatsapp_flow_submission_reaches_the_deal_readably(meta_config, portal, graph):
    answers = {"flow_token": "secret-flow-token", "service": "Маникюр", "date": "2026-12-04", "extras": ["дизайн"]}
    form = {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": json.dumps(answers)}}
    raw, headers = signed(whatsapp_message("wamid.F1", "interactive", form), WA_SECRET)
    async with gateway(meta_config()) as (client, _runtime):
        assert (await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)).status_code == 200
        await wait_for(lambda: len(portal.state.comments) == 1)
    (comment,) = [c["COMMENT"] for c in portal.state.comments.values()]
    assert comment.endswith("Клиент: [форма] service: Маникюр; date: 2026-12-04; extras: дизайн")
    assert "secret-flow-token" not in comment


async def test_instagram_ad_dm_makes_one_deal_and_a_reply_to_the_igsid(meta_config, portal, graph):
    payload = fixture_json("channels/instagram_02_ad_referral_message.json")
    payload["entry"][0]["messaging"][0]["message"]["text"] = "Сколько стоит педикюр? Можно в субботу утром"
    raw, headers = signed(payload, IG_SECRET)
    async with gateway(meta_config()) as (client, _runtime):
        for _ in range(2):
            assert (await client.post("/webhooks/salon/instagram", content=raw, headers=headers)).status_code == 200
        echo, echo_headers = signed(fixture_json("channels/instagram_04_echo.json"), IG_SECRET)
        answered = await client.post("/webhooks/salon/instagram", content=echo, headers=echo_headers)
        assert answered.json()["ignored"] == 1
        await wait_for(lambda: len(graph.delivered()) == 1 and len(portal.state.comments) == 1)
    deal = next(iter(portal.state.deals.values()))
    assert len(portal.state.deals) == 1 and deal["ORIGIN_ID"] == "salon:instagram:1234567890123456"
    assert (deal["UTM_SOURCE"], deal["UTM_MEDIUM"], deal["UTM_CAMPAIGN"]) == ("ig_ads", "paid", "spring25")
    assert deal["UTM_CONTENT"] == "120212345678901234" and "Spring collection -20%" in deal["SOURCE_DESCRIPTION"]
    reply = graph.delivered()[0]
    assert reply["recipient"] == {"id": "1234567890123456"} and graph.sent[0]["account"] == ACCOUNT
    assert len(reply["message"]["text"].encode()) <= 1000


async def test_a_long_instagram_reply_whose_second_piece_fails_resends_only_the_rest(meta_config, graph):
    greeting = "Здравствуйте{name}! " + " ".join(f"Пункт {i}: у нас есть всё для вас." for i in range(60))
    graph.refuse_calls = {2: (500, {"message": "An unexpected error has occurred", "code": 2})}
    payload = fixture_json("channels/instagram_01_text_dm.json")
    raw, headers = signed(payload, IG_SECRET)
    async with gateway(meta_config(tenant_extra={"texts": {"greeting": greeting}})) as (client, _runtime):
        assert (await client.post("/webhooks/salon/instagram", content=raw, headers=headers)).status_code == 200
        await wait_for(lambda: len(graph.delivered()) >= 3 and "quick_replies" in graph.delivered()[-1]["message"])
    pieces = [body["message"]["text"] for body in graph.delivered()]
    refused = [s["body"]["message"]["text"] for s in graph.sent if "refused" in s]
    assert len(pieces) == len(set(pieces)) >= 3  # every piece once: the first was not sent again
    assert refused == [pieces[1]] and pieces[0].startswith("Здравствуйте")
    assert all(len(p.encode()) <= 1000 for p in pieces)


async def test_handshake_answers_the_challenge_as_plain_text_only_with_the_verify_token(meta_config):
    async with gateway(meta_config()) as (client, _runtime):
        ok = await client.get(
            "/webhooks/salon/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "wa-verify", "hub.challenge": "1158201444"},
        )
        assert (ok.status_code, ok.text) == (200, "1158201444")
        assert ok.headers["content-type"].startswith("text/plain")
        ig = await client.get(
            "/webhooks/salon/instagram",
            params={"hub.mode": "subscribe", "hub.verify_token": "ig-verify", "hub.challenge": "77"},
        )
        assert ig.text == "77"
        wrong = await client.get(
            "/webhooks/salon/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "ig-verify", "hub.challenge": "1"},
        )
        assert (wrong.status_code, wrong.json()["error"]) == (403, "handshake_refused")
        assert (await client.get("/webhooks/salon/whatsapp")).status_code == 400
        assert (await client.get("/webhooks/nobody/whatsapp", params={"hub.challenge": "1"})).status_code == 404


async def test_signature_is_checked_over_the_raw_bytes(meta_config):
    payload = fixture_json("channels/whatsapp_01_text_message.json")
    async with gateway(meta_config()) as (client, runtime):
        raw, headers = signed(payload, WA_SECRET)
        reserialised = json.dumps(payload, indent=1).encode()  # same JSON, other bytes
        cases = [
            (await client.post("/webhooks/salon/whatsapp", content=raw), 401, "missing_signature"),
            (
                await client.post("/webhooks/salon/whatsapp", content=reserialised, headers=headers),
                403,
                "bad_signature",
            ),
            (
                await client.post(
                    "/webhooks/salon/whatsapp", content=raw, headers={"X-Hub-Signature-256": "sha256=00"}
                ),
                403,
                "bad_signature",
            ),
            (await client.post("/webhooks/salon/instagram", content=raw, headers=headers), 403, "bad_signature"),
            (await client.post("/webhooks/other/whatsapp", content=raw, headers=headers), 404, "unknown_tenant"),
        ]
        for response, status, code in cases:
            assert (response.status_code, response.json()["error"]) == (status, code)
        broken, broken_headers = b"{not json", {"X-Hub-Signature-256": sign(b"{not json", WA_SECRET)}
        response = await client.post("/webhooks/salon/whatsapp", content=broken, headers=broken_headers)
        assert (response.status_code, response.json()["error"]) == (400, "malformed_body")
        huge = b"{" + b" " * (1024 * 1024) + b"}"
        response = await client.post(
            "/webhooks/salon/whatsapp", content=huge, headers={"X-Hub-Signature-256": sign(huge, WA_SECRET)}
        )
        assert response.status_code == 413
        assert await runtime.redis.zcard("lg:queue:inbound") == 0
        accepted = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        assert accepted.json()["queued"] == 1


async def test_statuses_are_acknowledged_and_counted_not_answered(meta_config, graph):
    async with gateway(meta_config()) as (client, runtime):
        for name in ("whatsapp_06_status_sent", "whatsapp_07_status_failed"):
            raw, headers = signed(fixture_json(f"channels/{name}.json"), WA_SECRET)
            response = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
            assert response.json() == {"ok": True, "queued": 0, "duplicate": 0, "ignored": 0, "statuses": 1}
        metrics = (await client.get("/metrics")).text
        assert await runtime.redis.zcard("lg:queue:inbound") == 0 and graph.sent == []
    assert 'lead_gateway_delivery_statuses_total{channel="whatsapp",status="failed",tenant="salon"} 1.0' in metrics


async def test_closed_window_is_logged_and_counted_never_retried_and_the_lead_still_lands(meta_config, portal, graph):
    graph.refusals.append((400, {"code": 131047, "message": "Re-engagement message"}))
    async with gateway(meta_config()) as (client, _runtime):
        raw, headers = signed(whatsapp_text("wamid.C1", "маникюр"), WA_SECRET)
        await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 1)
        await wait_for_async(lambda: metric_line(client, 'outcome="window_closed"'))
    assert len(graph.sent) == 1  # tried once, not again


async def metric_line(client, fragment: str) -> str | None:
    text = (await client.get("/metrics")).text
    return next((line for line in text.splitlines() if fragment in line and not line.startswith("#")), None)


def late_event(wamid: str, text: str, hours_ago: float) -> InboundMessage:
    received = PINNED - timedelta(hours=hours_ago)
    return InboundMessage(
        tenant="salon",
        channel=Channel.WHATSAPP,
        chat_id="US.1",
        sender_id="US.1",
        dedupe_key=f"wa:{wamid}",
        message_id=wamid,
        sent_at=received,
        received_at=received,
        text=text,
        sender_phone="+79131234567",
    )


async def no_crm() -> None:
    return None


@pytest.mark.parametrize("template", [None, {"name": "come_back", "language": "ru"}])
async def test_a_reply_due_after_the_window_closed_sends_the_template_or_nothing(meta_config, graph, template):
    extra = {"window_template": template} if template else {}
    async with gateway(meta_config(**extra)) as (_client, runtime):
        conversation = runtime.conversation_context("salon", "whatsapp")
        outcome = await handle_message(conversation, late_event("wamid.D1", "маникюр", 25), PINNED, no_crm)
        fresh = await handle_message(conversation, late_event("wamid.D2", "завтра", 1), PINNED, no_crm)
    if template is None:
        assert outcome == "window_closed" and len(graph.delivered()) == 1  # only the in-window reply
    else:
        assert outcome == "template"
        assert graph.delivered()[0]["template"] == {"name": "come_back", "language": {"code": "ru"}}
    assert fresh == "sent" and graph.delivered()[-1]["to"] == "+79131234567"


async def test_expired_token_is_reported_by_readyz_and_metrics_not_retried(meta_config, portal, graph):
    graph.refusals.append((401, {"code": 190, "type": "OAuthException", "message": "Session has expired"}))
    async with gateway(meta_config()) as (client, _runtime):
        raw, headers = signed(whatsapp_text("wamid.E1", "маникюр"), WA_SECRET)
        await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        await wait_for(lambda: len(portal.state.deals) == 1)
        line = await wait_for_async(lambda: metric_line(client, 'lead_gateway_credentials_ok{component="whatsapp"'))
        ready = (await client.get("/readyz")).json()
    assert line.endswith(" 0.0")
    assert ready["status"] == "ready" and ready["tenants"]["salon"]["whatsapp"]["ok"] is False
    assert len(graph.sent) == 1


async def test_redis_down_answers_503_so_meta_retries(meta_config):
    config = meta_config()
    async with gateway(config, redis_url="redis://127.0.0.1:1/0") as (client, _runtime):
        raw, headers = signed(fixture_json("channels/whatsapp_01_text_message.json"), WA_SECRET)
        response = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
    assert (response.status_code, response.json()["error"]) == (503, "queue_unavailable")


async def test_a_batch_of_a_thousand_messages_is_queued_whole(meta_config):
    payload = fixture_json("channels/whatsapp_01_text_message.json")
    value = payload["entry"][0]["changes"][0]["value"]
    template = value["messages"][0]
    value["messages"] = [{**template, "id": f"wamid.batch{i}", "from": f"7913{i:07d}"} for i in range(1000)]
    value["contacts"] = []
    async with gateway(meta_config()) as (client, runtime):
        await runtime.redis.delete("lg:queue:inbound")
        raw, headers = signed(payload, WA_SECRET)
        response = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        again = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
    assert response.json()["queued"] == 1000 and again.json()["duplicate"] == 1000


async def test_check_reports_each_meta_token(meta_config, graph, capsys):
    config = meta_config()
    assert await run_checks(config) == 0
    graph.valid_tokens = {"ig-token"}
    assert await run_checks(config) == 1
    table = capsys.readouterr().out
    assert re.search(r"salon: whatsapp +FAIL .*code 190", table) and re.search(r"salon: instagram +OK", table)
