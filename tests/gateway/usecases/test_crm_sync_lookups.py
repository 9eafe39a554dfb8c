"""A portal that ignores a filter it does not support must not make the gateway adopt someone else's records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import respx

from bitrix.batcher import Batcher
from bitrix.client import BitrixClient
from gateway.settings import parse_config
from gateway.store.conversations import DialogueState, TimelineEntry, record_message
from gateway.usecases.crm.context import CrmContext
from gateway.usecases.crm.sync import sync_conversation

BASE = "https://portal.example/rest/1/abc/"
KEY = "salon:telegram:42"


def commands(request: httpx.Request) -> dict[str, str]:
    return json.loads(request.content)["cmd"]


def answer(results: dict) -> httpx.Response:
    body = {"result": results, "result_error": [], "result_total": [], "result_next": [], "result_time": []}
    return httpx.Response(200, json={"result": body, "time": {}})


@respx.mock
async def test_a_contact_list_that_ignores_the_im_filter_is_not_trusted(redis):
    sent: list[dict[str, str]] = []

    def portal(request: httpx.Request) -> httpx.Response:
        cmd = commands(request)
        sent.append(cmd)
        if any(line.startswith("crm.contact.list") for line in cmd.values()):
            # every contact, whatever the filter said: someone else's, with another identity
            stranger = [{"ID": "99", "IM": [{"VALUE": "telegram:555", "VALUE_TYPE": "TELEGRAM"}]}]
            return answer({k: ([] if v.startswith("crm.duplicate") else stranger) for k, v in cmd.items()})
        ids = {k: n for n, k in enumerate(cmd, start=5)}
        return answer(ids)

    respx.post(BASE + "batch").mock(side_effect=portal)
    tenant = parse_config({"tenants": {"salon": {}}}, {}).tenants["salon"]
    state = DialogueState(
        conversation_key=KEY, tenant="salon", channel="telegram", chat_id="42", sender_id="42", phone="+79131234567"
    )
    await record_message(redis, state, TimelineEntry(key="tg:1", text="привет", at=datetime.now(UTC)))
    async with httpx.AsyncClient() as http:
        batcher = Batcher(BitrixClient(BASE, http), None)
        link = await sync_conversation(CrmContext(redis, batcher, tenant, {}), KEY)
        await batcher.close()
    assert link is not None and link.contact_id != 99
    created = sent[-1]
    assert any(line.startswith("crm.contact.add") for line in created.values())
    deal = next(line for line in created.values() if line.startswith("crm.deal.add"))
    (reference,) = parse_qs(deal.partition("?")[2])["fields[CONTACT_IDS][0]"]
    assert reference.startswith("$result[") and reference.endswith("_contact]")  # the new contact, chained


@respx.mock
async def test_a_remembered_contact_read_with_the_syncs_lock_is_used_without_a_lookup(redis):
    from gateway.store import keys
    from gateway.store.conversation_hold import hold_for_sync

    sent: list[dict[str, str]] = []

    def portal(request: httpx.Request) -> httpx.Response:
        sent.append(commands(request))
        return answer({k: n for n, k in enumerate(sent[-1], start=5)})

    respx.post(BASE + "batch").mock(side_effect=portal)
    tenant = parse_config({"tenants": {"salon": {}}}, {}).tenants["salon"]
    state = DialogueState(conversation_key=KEY, tenant="salon", channel="telegram", chat_id="42", sender_id="42")
    await record_message(redis, state, TimelineEntry(key="tg:1", text="привет", at=datetime.now(UTC)))
    async with httpx.AsyncClient() as http:
        batcher = Batcher(BitrixClient(BASE, http), None)
        ctx = CrmContext(redis, batcher, tenant, {})
        await redis.set(keys.person_contact(ctx.scope, "telegram", "42"), "77")  # this person's contact
        async with hold_for_sync(redis, KEY, ctx.scope, 30, 1) as read:
            assert read.person == "77" and read.start == 0 and [e.key for e in read.timeline] == ["tg:1"]
            assert await redis.exists(keys.crm_lock(KEY))
            link = await sync_conversation(ctx, KEY, read)
        await batcher.close()
    assert not await redis.exists(keys.crm_lock(KEY))  # released on the way out
    assert link is not None and link.contact_id == 77
    made = [line for cmd in sent for line in cmd.values()]
    assert not any(line.startswith(("crm.contact.add", "crm.contact.list", "crm.duplicate")) for line in made)
    deal = next(line for line in made if line.startswith("crm.deal.add"))
    assert parse_qs(deal.partition("?")[2])["fields[CONTACT_IDS][0]"] == ["77"]
