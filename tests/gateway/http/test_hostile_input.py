"""Hostile bodies get a documented 4xx or are acknowledged and ignored: never a 5xx, never a stuck batch."""

from __future__ import annotations

import json

import pytest

from tests.conftest import IG_SECRET, SECRET, WA_SECRET, fixture_json, gateway, wait_for
from tests.e2e.test_meta import signed, whatsapp_text

TG = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HUGE_INT = "1" + "0" * 5000
DEEP = "[" * 5000 + "]" * 5000


def telegram_update(text: str = '"hi"', name: str = '"Анна"', update_id: str = "1") -> bytes:
    return (
        f'{{"update_id": {update_id}, "message": {{"message_id": 1, "date": 1763800000, "text": {text},'
        f' "from": {{"id": 5, "is_bot": false, "first_name": {name}}}, "chat": {{"id": 5, "type": "private"}}}}}}'
    ).encode()


async def test_telegram_bodies_that_break_parsers_are_400_and_lone_surrogates_are_kept_readable(
    make_config, portal, telegram
):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        post = lambda body: client.post("/webhooks/salon/telegram", content=body, headers=TG)  # noqa: E731
        for body in (telegram_update(update_id=HUGE_INT), DEEP.encode(), telegram_update(text=HUGE_INT)):
            response = await post(body)
            assert (response.status_code, response.json()["error"]) == (400, "malformed_body")
        nested = '{"update_id": 2, "x": ' + "[" * 200 + "]" * 200 + "}"
        assert (await post(nested.encode())).status_code == 400
        accepted = await post(telegram_update(text='"\\ud800 маникюр"', name='"\\udfff"', update_id="3"))
        assert accepted.status_code == 200 and accepted.json()["status"] == "queued"
        await wait_for(lambda: len(portal.state.comments) == 1)
    (comment,) = portal.state.comments.values()
    assert comment["COMMENT"].endswith("\ufffd маникюр")


@pytest.mark.parametrize("timestamp", [10**400, "²", "1e400", -1, "99999999999999999999999"])
async def test_meta_timestamps_that_are_not_times_fall_back_to_when_received(meta_config, portal, timestamp):
    payload = whatsapp_text("wamid.T1", "хочу маникюр")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = timestamp
    raw, headers = signed(payload, WA_SECRET)
    async with gateway(meta_config()) as (client, _runtime):
        response = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
        assert response.status_code == 200 and response.json()["queued"] == 1


async def test_one_poisoned_event_in_a_meta_batch_is_skipped_and_the_rest_queued(meta_config, portal):
    payload = whatsapp_text("wamid.P1", "хочу маникюр")
    value = payload["entry"][0]["changes"][0]["value"]
    good = value["messages"][0]
    value["messages"] = [{**good, "id": {"nested": HUGE_INT}}, {**good, "id": "wamid.P2", "text": {"body": "\ud800"}}]
    raw, headers = signed(payload, WA_SECRET)
    async with gateway(meta_config()) as (client, _runtime):
        for _ in range(2):  # Meta's retry of the same batch: the same answer, nothing stuck
            response = await client.post("/webhooks/salon/whatsapp", content=raw, headers=headers)
            assert response.status_code == 200
        assert response.json()["duplicate"] == 1


async def test_instagram_names_and_texts_with_lone_surrogates_are_queued(meta_config, portal):
    payload = fixture_json("channels/instagram_01_text_dm.json")
    payload["entry"][0]["messaging"][0]["message"]["text"] = "\udc00 привет"
    raw = json.dumps(payload).encode()  # json.dumps writes the lone surrogate as \udc00
    _, headers = signed(payload, IG_SECRET)
    async with gateway(meta_config()) as (client, _runtime):
        response = await client.post("/webhooks/salon/instagram", content=raw, headers=headers)
        assert response.status_code == 200 and response.json()["queued"] == 1


@pytest.mark.parametrize(
    "body",
    [
        "a=1&a[b]=2",
        "data=x&data[FIELDS][ID]=1",
        "event=x&event[]=y",
        "event=ONCRMDEALDELETE&data[FIELDS][ID]=²",
        "event[]=ONCRMDEALDELETE&data[FIELDS][ID][]=1",
        "event=ONCRMDEALDELETE&data[FIELDS][ID]=" + "9" * 40,
    ],
)
async def test_bitrix_event_bodies_without_a_token_or_with_nonsense_are_4xx(make_config, portal, telegram, body):
    config = make_config(portal.url, telegram.base, bitrix={"webhook_url": portal.url, "application_token": "tok"})
    async with gateway(config) as (client, _runtime):
        bare = await client.post("/bitrix/salon/events", content=body, headers=FORM)
        assert 400 <= bare.status_code < 500
        authed = await client.post("/bitrix/salon/events", content=body + "&auth[application_token]=tok", headers=FORM)
        assert 400 <= authed.status_code < 500 or authed.json()["status"] == "ignored"


async def test_a_huge_unknown_tenant_is_not_echoed_back(make_config, portal, telegram):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        response = await client.post(f"/webhooks/{'t' * 20000}/telegram", content=b"{}", headers=TG)
    assert response.status_code == 404 and len(response.content) < 500


async def test_a_trailing_slash_is_a_404_never_a_redirect(make_config, portal, telegram):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        response = await client.post("/webhooks/salon/telegram/", content=b"{}", headers={**TG, "Host": "evil.example"})
        assert response.status_code == 404 and "location" not in response.headers
        assert (await client.get("/healthz/")).status_code == 404
