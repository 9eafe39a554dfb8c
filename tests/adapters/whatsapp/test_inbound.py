"""WhatsApp webhook payloads (Meta's own examples) -> InboundMessage events."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from adapters.meta.batch import Batch, MalformedPayload
from adapters.whatsapp.inbound import parse_whatsapp
from domain import InboundMessage
from tests.conftest import fixture_json

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NUMBER_ID = "106540352242922"


def parse(name: str, number_id: str = NUMBER_ID) -> Batch:
    return parse_whatsapp(fixture_json(f"channels/{name}.json"), "salon", number_id, NOW)


def only(batch: Batch) -> InboundMessage:
    assert len(batch.events) == 1, batch
    return batch.events[0]


def test_text_message_keys_the_client_by_wa_id_and_takes_name_and_phone():
    event = only(parse("whatsapp_01_text_message"))
    assert event.text == "Does it come in another color?"
    assert event.chat_id == "16505551234" and event.sender_phone == "+16505551234"
    assert event.sender_name == "Sheena Nelson"
    assert event.dedupe_key == "wa:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    assert event.sent_at == datetime.fromtimestamp(1749416383, UTC)


def test_click_to_whatsapp_referral_becomes_paid_utm_tags_with_the_raw_referral_kept():
    event = only(parse("whatsapp_02_ctwa_referral"))
    tags = event.attribution
    assert tags is not None
    assert (tags.utm_source, tags.utm_medium) == ("whatsapp", "paid")
    assert tags.utm_content == "120226305854810726" and tags.utm_campaign == "Chat with us"
    assert tags.description is not None and "https://fb.me/3cr4Wqqkv" in tags.description


@pytest.mark.parametrize(
    ("name", "button", "text"),
    [
        ("whatsapp_03_interactive_button_reply", "cancel-button", "Cancel"),
        ("whatsapp_04_interactive_list_reply", "priority_express", "Priority Mail Express"),
        ("whatsapp_05_template_quick_reply_button", "callback_data", "title"),
    ],
)
def test_button_and_list_replies_carry_their_payload(name, button, text):
    number_id = "1122334455667" if "05" in name else NUMBER_ID
    event = only(parse(name, number_id))
    assert (event.button, event.text) == (button, text)


def test_template_button_from_a_client_with_a_bsuid_is_keyed_by_it():
    event = only(parse("whatsapp_05_template_quick_reply_button", "1122334455667"))
    assert event.chat_id == "US.13491208655302741918" and event.sender_phone == "+972987654321"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("whatsapp_06_status_sent", "sent"),
        ("whatsapp_07_status_failed", "failed"),
        ("whatsapp_08_status_delivered_bsuid", "delivered"),
    ],
)
def test_status_callbacks_are_counted_not_turned_into_messages(name, status):
    batch = parse(name)
    assert batch.events == [] and batch.statuses == {status: 1}


def test_username_client_without_wa_id_is_keyed_by_user_id():
    event = only(parse("whatsapp_09_text_from_username_user_no_phone"))
    assert event.chat_id == event.sender_id == "US.13491208655302741918"
    assert event.sender_phone is None and event.sender_username == "realsheenanelson"


def test_every_message_of_a_batch_is_read_and_other_numbers_are_left_alone():
    batch = parse("whatsapp_10_multi_entry_batch")
    assert [e.text for e in batch.events] == ["Hi", "Is the shop open today?"]
    assert batch.statuses == {"read": 1}
    assert batch.ignored == {"other phone number": 1}  # the third entry is another business's number
    other = parse("whatsapp_10_multi_entry_batch", "210987654321098")
    assert [e.text for e in other.events] == ["Здравствуйте"] and other.events[0].sender_phone == "+79161234567"


def test_one_broken_message_does_not_sink_the_rest():
    raw = fixture_json("channels/whatsapp_10_multi_entry_batch.json")
    del raw["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    batch = parse_whatsapp(raw, "salon", NUMBER_ID, NOW)
    assert [e.text for e in batch.events] == ["Is the shop open today?"]
    assert batch.ignored["malformed message"] == 1


def test_media_is_recorded_as_a_label_with_its_caption_and_reactions_are_ignored():
    raw = fixture_json("channels/whatsapp_01_text_message.json")
    message = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    photo, reaction = copy.deepcopy(raw), copy.deepcopy(raw)
    photo_message = photo["entry"][0]["changes"][0]["value"]["messages"][0]
    photo_message.update(type="image", image={"id": "1", "caption": "вот такой хочу"})
    del photo_message["text"]
    assert only(parse_whatsapp(photo, "salon", NUMBER_ID, NOW)).text == "[фото] вот такой хочу"
    reaction["entry"][0]["changes"][0]["value"]["messages"][0] = {**message, "type": "reaction", "reaction": {}}
    assert parse_whatsapp(reaction, "salon", NUMBER_ID, NOW).ignored == {"type reaction": 1}


@pytest.mark.parametrize("raw", [[], {"object": "whatsapp_business_account"}, {"entry": "x"}])
def test_bodies_that_are_not_the_envelope_raise(raw):
    with pytest.raises(MalformedPayload):
        parse_whatsapp(raw, "salon", NUMBER_ID, NOW)
