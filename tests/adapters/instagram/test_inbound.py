"""Instagram messaging webhook payloads -> InboundMessage events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.instagram.inbound import parse_instagram
from adapters.meta.batch import Batch, MalformedPayload
from domain import InboundMessage
from gateway.settings import Utm
from gateway.usecases.conversation.attribution import resolve
from tests.conftest import fixture_json

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = "17841400000000001"


def parse(name: str, account: str = ACCOUNT) -> Batch:
    return parse_instagram(fixture_json(f"channels/{name}.json"), "salon", account, NOW)


def only(batch: Batch) -> InboundMessage:
    assert len(batch.events) == 1, batch
    return batch.events[0]


def test_text_dm_with_millisecond_timestamp():
    event = only(parse("instagram_01_text_dm"))
    assert event.text == "Hi! Do you ship to Berlin?" and event.chat_id == "1234567890123456"
    assert event.sent_at == datetime.fromtimestamp(1751022999.871, UTC)
    assert event.dedupe_key.startswith("ig:aWdfZAG1") and event.sender_phone is None


def test_ad_referral_gives_paid_tags_and_a_query_string_ref_refines_them():
    event = only(parse("instagram_02_ad_referral_message"))
    assert event.attribution is not None
    tags = resolve(event.attribution, {})
    assert (tags.utm_medium, tags.utm_content) == ("paid", "120212345678901234")
    assert (tags.utm_source, tags.utm_campaign) == ("ig_ads", "spring25")  # named by the advertiser's ref
    assert tags.description is not None and "Spring collection -20%" in tags.description


def test_ad_referral_with_a_free_text_ref_keeps_the_platform_and_headline():
    raw = fixture_json("channels/instagram_02_ad_referral_message.json")
    raw["entry"][0]["messaging"][0]["message"]["referral"]["ref"] = "просто текст"
    event = only(parse_instagram(raw, "salon", ACCOUNT, NOW))
    assert event.attribution is not None
    tags = resolve(event.attribution, {})
    assert (tags.utm_source, tags.utm_medium, tags.utm_campaign) == ("instagram", "paid", "Spring collection -20%")


def test_igme_link_ref_resolves_through_deeplinks_or_packed_tags():
    event = only(parse("instagram_03_igme_link_referral"))
    assert event.text == "" and event.attribution is not None
    packed = resolve(event.attribution, {})
    assert (packed.utm_campaign, packed.utm_source) == ("spring25", "bio")
    named = resolve(event.attribution, {"cmp-spring25_src-bio": Utm(utm_source="instagram", utm_campaign="bio")})
    assert (named.utm_source, named.utm_campaign) == ("instagram", "bio")


def test_echo_of_our_own_message_is_ignored():
    batch = parse("instagram_04_echo")
    assert batch.events == [] and batch.ignored == {"echo": 1}


def test_postback_and_quick_reply_carry_their_payloads():
    postback = only(parse("instagram_05_postback"))
    assert (postback.button, postback.text) == ("ICEBREAKER_TRACK_ORDER", "Track my order")
    quick = only(parse("instagram_06_quick_reply"))
    assert (quick.button, quick.text) == ("SIZE_M", "M")


def test_story_reply_is_labelled_and_an_iso_timestamp_is_read():
    event = only(parse("instagram_07_story_reply", "chatwoot-app-user-id-1"))
    assert event.text == "[ответ на историю] This is the story reply"
    assert event.sent_at == datetime(2021, 9, 8, 6, 34, 4, tzinfo=UTC)


def test_dashboard_test_event_in_changes_format_is_accepted():
    assert only(parse("instagram_08_dashboard_test_event_changes_format", "23245")).text == "random_text"
    assert parse("instagram_08_dashboard_test_event_changes_format").ignored == {"other account": 1}


def test_reads_reactions_and_standby_are_acknowledged_and_ignored():
    raw = fixture_json("channels/instagram_01_text_dm.json")
    item = raw["entry"][0]["messaging"][0]
    raw["entry"][0]["messaging"].append({**item, "read": {"mid": "x"}, "message": None})
    raw["entry"][0]["standby"] = [item]
    batch = parse_instagram(raw, "salon", ACCOUNT, NOW)
    assert len(batch.events) == 1 and batch.ignored == {"standby": 1, "event read": 1}


@pytest.mark.parametrize("raw", [None, {"object": "instagram"}, {"entry": {}}])
def test_bodies_that_are_not_the_envelope_raise(raw):
    with pytest.raises(MalformedPayload):
        parse_instagram(raw, "salon", ACCOUNT, NOW)
