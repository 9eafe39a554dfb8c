from datetime import UTC, datetime

import pytest

from adapters.telegram.inbound import Ignored, MalformedUpdate, parse_update
from domain import InboundMessage
from tests.conftest import fixture_json

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def parse(name: str) -> InboundMessage | Ignored:
    return parse_update(fixture_json(f"channels/{name}.json"), "salon", NOW)


def event_of(raw: object) -> InboundMessage:
    event = parse_update(raw, "salon", NOW)
    assert isinstance(event, InboundMessage), event
    return event


def parsed(name: str) -> InboundMessage:
    return event_of(fixture_json(f"channels/{name}.json"))


def test_plain_start_is_an_event_without_attribution():
    event = parsed("telegram_01_text_message")
    assert event.dedupe_key == "tg:10000"
    assert event.chat_id == "1111111" and event.sender_username == "Testusername"
    assert event.attribution is None and event.text == ""
    assert event.sent_at == datetime(2015, 9, 7, 17, 5, 32, tzinfo=UTC)


def test_start_payload_becomes_attribution_code():
    event = parsed("telegram_02_start_deeplink_utm")
    assert event.attribution is not None
    assert event.attribution.code == "src-ig_med-cpc_cmp-spring25_ct-v2"
    assert event.sender_name == "Anna Petrova"


def test_own_contact_gives_the_phone():
    event = parsed("telegram_03_contact_share")
    assert event.contact_phone == "79161234567"


def test_someone_elses_contact_is_not_taken_as_the_clients_phone():
    raw = fixture_json("channels/telegram_03_contact_share.json")
    raw["message"]["contact"]["user_id"] = 999
    event = event_of(raw)
    assert event.contact_phone is None and event.text == "[чужой контакт]"


def test_edited_message_is_ignored():
    assert parse("telegram_04_edited_message") == Ignored("edited message")


def test_button_press_carries_data_and_callback_id():
    event = parsed("telegram_05_callback_query")
    assert event.button == "size:M" and event.callback_id == "2371626362171262211"
    assert event.chat_id == "5512345678"


def test_group_chats_and_other_updates_are_ignored():
    raw = fixture_json("channels/telegram_01_text_message.json")
    raw["message"]["chat"]["type"] = "group"
    assert isinstance(parse_update(raw, "salon", NOW), Ignored)
    assert parse_update({"update_id": 5, "my_chat_member": None}, "salon", NOW) == Ignored("update kind not handled")


def test_caption_and_media_are_kept_as_text():
    raw = fixture_json("channels/telegram_01_text_message.json")
    del raw["message"]["text"]
    raw["message"]["photo"] = [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]
    assert event_of(raw).text == "[фото]"
    raw["message"]["caption"] = "вот такой маникюр хочу"
    assert event_of(raw).text == "вот такой маникюр хочу"


@pytest.mark.parametrize("raw", [[], {"message": {}}, {"update_id": "x", "message": {"chat": 1}}])
def test_malformed_bodies_raise(raw):
    with pytest.raises(MalformedUpdate):
        parse_update(raw, "salon", NOW)


# Shaped like the samples on Telegram's own webhook page: objects without fields a full model demands
# (audio and document without file_unique_id, a forward_from without is_bot, an inline query without
# chat_type), and fields the gateway does not know.
def _message(**extra) -> dict:
    base = {"message_id": 1365, "date": 1441645532, "chat": {"id": 1111111, "type": "private", "first_name": "Test"}}
    base["from"] = {"id": 1111111, "first_name": "Test Firstname", "last_name": "Test Lastname", "username": "Test"}
    return {"update_id": 10000, "message": {**base, **extra}}


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (_message(text="/start", forward_from={"last_name": "Forward", "id": 222222, "first_name": "Forward"}), ""),
        (_message(audio={"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", "duration": 243, "title": "Song"}), "[аудио]"),
        (_message(voice={"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", "duration": 5}), "[голосовое сообщение]"),
        (_message(document={"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", "file_name": "Testfile.pdf"}), "[файл]"),
        (_message(text="привет", some_future_field={"anything": [1, {"x": None}]}), "привет"),
    ],
)
def test_a_well_formed_update_with_fields_a_model_would_refuse_is_read(raw, text):
    event = parse_update(raw, "salon", NOW)
    assert not isinstance(event, Ignored) and event.text == text and event.sender_name == "Test Firstname Test Lastname"


def test_an_inline_query_from_telegrams_samples_is_ignored_not_refused():
    query = {"id": "134567890097", "from": {"id": 1111111}, "query": "q", "offset": ""}
    raw = {"update_id": 10000, "inline_query": query}
    assert parse_update(raw, "salon", NOW) == Ignored("update kind not handled")


@pytest.mark.parametrize(
    "raw",
    [
        {"update_id": True},
        {"update_id": 1, "message": "x"},
        {"update_id": 1, "message": {"message_id": 1, "chat": {"id": "1", "type": "private"}}},
        {"update_id": 1, "callback_query": {"from": {"id": 1}, "data": "s:x"}},
    ],
)
def test_a_field_the_gateway_reads_with_the_wrong_type_is_malformed(raw):
    with pytest.raises(MalformedUpdate):
        parse_update(raw, "salon", NOW)
