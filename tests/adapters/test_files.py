"""A client's photos and files as each adapter reads them: the platform's public link where it gives one
(VK, MAX, Instagram), else its file id for the gateway to fetch with the bot's token (Telegram)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.instagram.inbound import parse_instagram
from adapters.max.inbound import parse_max
from adapters.telegram.inbound import parse_update
from adapters.vk.inbound import parse_vk
from domain import Attachment, InboundMessage
from tests.conftest import fixture_json

NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def test_telegram_gives_the_largest_photos_id_and_a_documents_own_name():
    raw = fixture_json("channels/telegram_01_text_message.json")
    del raw["message"]["text"]
    raw["message"]["photo"] = [{"file_id": "small", "width": 90}, {"file_id": "large", "width": 1280}]
    event = parse_update(raw, "salon", NOW)
    assert isinstance(event, InboundMessage) and event.files == (Attachment(name="фото.jpg", ref="large"),)
    del raw["message"]["photo"]
    raw["message"]["document"] = {"file_id": "doc1", "file_name": "анализы.pdf"}
    event = parse_update(raw, "salon", NOW)
    assert isinstance(event, InboundMessage) and event.files == (Attachment(name="анализы.pdf", ref="doc1"),)


def test_vk_gives_the_largest_photo_size_and_a_documents_link():
    raw = fixture_json("channels/vk_01_message_new.json")
    raw["object"]["message"]["attachments"] = [
        {
            "type": "photo",
            "photo": {
                "sizes": [
                    {"type": "s", "url": "https://sun9-1.userapi.com/s.jpg", "width": 75, "height": 56},
                    {"type": "z", "url": "https://sun9-1.userapi.com/z.jpg", "width": 1280, "height": 960},
                ]
            },
        },
        {"type": "doc", "doc": {"title": "прайс.pdf", "url": "https://vk.com/doc1_2"}},
        {"type": "sticker", "sticker": {}},
    ]
    (event,) = parse_vk(raw, "salon", NOW).events
    assert event.files == (
        Attachment(name="фото.jpg", url="https://sun9-1.userapi.com/z.jpg"),
        Attachment(name="прайс.pdf", url="https://vk.com/doc1_2"),
    )


def test_max_and_instagram_give_their_payloads_links():
    raw = fixture_json("channels/max_01_message_created.json")
    raw["message"]["body"]["attachments"] = [{"type": "image", "payload": {"url": "https://i.oneme.ru/i?r=1"}}]
    assert parse_max(raw, "salon", NOW).files == (Attachment(name="фото.jpg", url="https://i.oneme.ru/i?r=1"),)
    ig = fixture_json("channels/instagram_01_text_dm.json")
    message = ig["entry"][0]["messaging"][0]["message"]
    message["attachments"] = [{"type": "image", "payload": {"url": "https://lookaside.fbsbx.com/ig_messaging_cdn/1"}}]
    (event,) = parse_instagram(ig, "salon", "17841400000000001", NOW).events
    assert event.files == (Attachment(name="фото.jpg", url="https://lookaside.fbsbx.com/ig_messaging_cdn/1"),)


def test_whatsapp_gives_the_media_id_and_its_file_is_fetched_through_graph_with_the_token(respx_mock):
    import asyncio

    import httpx

    from adapters.meta.graph import GraphClient
    from adapters.whatsapp.inbound import parse_whatsapp
    from adapters.whatsapp.outbound import WhatsAppSender

    raw = fixture_json("channels/whatsapp_01_text_message.json")
    message = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(type="document", document={"id": "1037543291543636", "filename": "направление.pdf"})
    del message["text"]
    number = raw["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
    (event,) = parse_whatsapp(raw, "salon", number, NOW).events
    assert event.files == (Attachment(name="направление.pdf", ref="1037543291543636"),)

    lookaside = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1037543291543636"
    described = {"url": lookaside, "mime_type": "application/pdf", "file_size": 5, "id": "1037543291543636"}
    media = respx_mock.get("https://graph.facebook.com/v23.0/1037543291543636").respond(json=described)
    download = respx_mock.get(lookaside).respond(content=b"%PDF-")

    async def fetch() -> tuple[bytes, str]:
        async with httpx.AsyncClient() as http:
            sender = WhatsAppSender(GraphClient(http, "https://graph.facebook.com/v23.0", "wa-token"), number)
            return await sender.download("1037543291543636", 1024)

    assert asyncio.run(fetch()) == (b"%PDF-", "application/pdf")
    assert media.calls.last.request.headers["authorization"] == "Bearer wa-token"
    assert download.calls.last.request.headers["authorization"] == "Bearer wa-token"
