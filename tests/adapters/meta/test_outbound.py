"""Sending through the Graph API (replaced at the HTTP boundary by respx): bodies and error mapping."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from adapters.instagram.outbound import InstagramSender, split_utf8
from adapters.meta.graph import GraphClient, PairRateLimited
from adapters.whatsapp.outbound import WhatsAppSender
from domain import (
    Choice,
    CredentialsRejected,
    Recipient,
    Reply,
    SendRejected,
    SendRetryable,
    WindowClosed,
)
from tests.conftest import fixture_json

WA_BASE, IG_BASE = "https://graph.facebook.com/v21.0", "https://graph.instagram.com/v21.0"
WA_URL, IG_URL = f"{WA_BASE}/106540352242922/messages", f"{IG_BASE}/17841400000000001/messages"
TIMES = (Choice("завтра в 11:00", "t:1"), Choice("завтра в 12:00", "t:2"), Choice("завтра в 13:00", "t:3"))


def sent_bodies(route: respx.Route) -> list[dict]:
    return [json.loads(call.request.content) for call in route.calls]


def without_endpoint(name: str) -> dict:
    body = fixture_json(f"channels/outbound/{name}.json")
    body.pop("_endpoint")
    return body


async def whatsapp(template: tuple[str, str] | None = None) -> WhatsAppSender:
    return WhatsAppSender(GraphClient(httpx.AsyncClient(), WA_BASE, "wa-token"), "106540352242922", template)


@respx.mock
async def test_whatsapp_text_goes_to_the_e164_number_with_bearer_token():
    route = respx.post(WA_URL).respond(200, json={"messages": [{"id": "wamid.1"}]})
    await (await whatsapp()).send(Recipient("US.1", "+16505551234"), Reply("Здравствуйте!"))
    documented = without_endpoint("whatsapp_send_text")
    body = sent_bodies(route)[0]
    assert body.keys() == documented.keys() and body["to"] == "+16505551234" and body["type"] == "text"
    assert body["text"]["body"] == "Здравствуйте!"
    assert route.calls[0].request.headers["Authorization"] == "Bearer wa-token"


@respx.mock
async def test_whatsapp_choices_become_reply_buttons_or_a_list():
    route = respx.post(WA_URL).respond(200, json={})
    sender = await whatsapp()
    await sender.send(Recipient("79131234567", "+79131234567"), Reply("Когда удобно?", choices=TIMES))
    many = tuple(Choice(f"Очень длинное название услуги {i}", f"s:{i}") for i in range(12))
    await sender.send(Recipient("US.7"), Reply("Какая услуга?", choices=many))
    buttons, listing = sent_bodies(route)
    documented = without_endpoint("whatsapp_send_interactive_buttons")["interactive"]
    assert buttons["interactive"]["type"] == documented["type"] == "button"
    assert [b["reply"]["id"] for b in buttons["interactive"]["action"]["buttons"]] == ["t:1", "t:2", "t:3"]
    rows = listing["interactive"]["action"]["sections"][0]["rows"]
    assert listing["recipient"] == "US.7" and "to" not in listing  # a username client: addressed by BSUID
    assert len(rows) == 10 and all(len(r["title"]) <= 24 for r in rows)


@respx.mock
async def test_whatsapp_outside_the_window_sends_the_configured_template_only():
    route = respx.post(WA_URL).respond(200, json={})
    assert await (await whatsapp()).send_outside_window(Recipient("x", "+79131234567"), Reply("hi")) is False
    assert await (await whatsapp(("follow_up", "ru"))).send_outside_window(Recipient("x", "+79131234567"), Reply("hi"))
    body = sent_bodies(route)[0]
    assert body["type"] == "template" and body["template"] == {"name": "follow_up", "language": {"code": "ru"}}


@pytest.mark.parametrize(
    ("status", "error", "raised"),
    [
        (400, {"code": 131047, "message": "Re-engagement message"}, WindowClosed),
        (400, {"code": 131056, "message": "pair rate limit"}, PairRateLimited),
        (401, {"code": 190, "type": "OAuthException", "message": "Session has expired"}, CredentialsRejected),
        (400, {"code": 130429, "message": "Rate limit hit"}, SendRetryable),
        (500, {"code": 131000, "message": "Something went wrong"}, SendRetryable),
        (400, {"code": 100, "message": "Invalid parameter"}, SendRejected),
    ],
)
@respx.mock
async def test_graph_errors_are_mapped_to_what_the_worker_should_do(status, error, raised):
    respx.post(WA_URL).respond(status, json={"error": error})
    with pytest.raises(raised) as info:
        await (await whatsapp()).send(Recipient("x", "+79131234567"), Reply("hi"))
    if raised is SendRejected:
        assert not isinstance(info.value, WindowClosed | CredentialsRejected)
    if raised is PairRateLimited:
        assert info.value.retry_after == 6.0


@respx.mock
async def test_graph_non_json_5xx_and_timeouts_are_retryable():
    respx.post(WA_URL).mock(side_effect=[httpx.Response(502, text="<html>bad gateway"), httpx.ReadTimeout("slow")])
    sender = await whatsapp()
    for _ in range(2):
        with pytest.raises(SendRetryable):
            await sender.send(Recipient("x", "+79131234567"), Reply("hi"))


def test_instagram_text_is_split_at_1000_bytes_on_word_breaks():
    text = "Маникюр с покрытием гель-лаком. " * 40  # Cyrillic: two bytes a letter
    pieces = split_utf8(text)
    assert len(pieces) > 1 and all(len(p.encode()) <= 1000 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert split_utf8("коротко") == ["коротко"]


@respx.mock
async def test_instagram_sends_pieces_with_quick_replies_on_the_last_one():
    route = respx.post(IG_URL).respond(200, json={"recipient_id": "1", "message_id": "m"})
    sender = InstagramSender(GraphClient(httpx.AsyncClient(), IG_BASE, "ig-token"), "17841400000000001")
    await sender.send(Recipient("1234567890123456"), Reply("слово " * 300, choices=TIMES))
    await sender.send(Recipient("1234567890123456"), Reply("Ваш номер?", ask_phone=True))
    bodies = sent_bodies(route)
    documented = without_endpoint("instagram_send_text")
    assert all(b.keys() == documented.keys() and b["recipient"] == {"id": "1234567890123456"} for b in bodies)
    assert "quick_replies" not in bodies[0]["message"]
    assert [q["payload"] for q in bodies[-2]["message"]["quick_replies"]] == ["t:1", "t:2", "t:3"]
    assert bodies[-1]["message"]["quick_replies"] == [{"content_type": "user_phone_number"}]


@respx.mock
async def test_instagram_closed_window_is_reported_not_retried():
    respx.post(IG_URL).respond(400, json={"error": {"code": 10, "error_subcode": 2534022, "message": "outside window"}})
    sender = InstagramSender(GraphClient(httpx.AsyncClient(), IG_BASE, "ig-token"), "17841400000000001")
    with pytest.raises(WindowClosed):
        await sender.send(Recipient("1"), Reply("hi"))
    assert await sender.send_outside_window(Recipient("1"), Reply("hi")) is False
