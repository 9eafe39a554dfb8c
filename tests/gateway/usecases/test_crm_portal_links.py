"""Remembered CRM ids belong to the portal they were learned from, and are written to only once checked."""

from __future__ import annotations

from bitrix.sandbox import Sandbox
from tests.conftest import SECRET, LoopbackServer, gateway, wait_for
from tests.e2e.test_telegram import update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
SOMEONE_ELSE = {"TITLE": "Стрижка — Ольга", "ORIGIN_ID": "salon:telegram:999", "ORIGINATOR_ID": "lead-gateway"}


def _plant_other_clients_deal(portal: Sandbox) -> int:
    contact = portal.dispatch("crm.contact.add", {"fields": {"NAME": "Ольга", "PHONE": [{"VALUE": "+79990000000"}]}})
    return int(portal.dispatch("crm.deal.add", {"fields": {**SOMEONE_ELSE, "CONTACT_IDS": [contact]}}))


async def test_switching_portals_never_touches_the_new_portals_deal_with_the_old_id(make_config, portal, telegram):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр, 8 913 123-45-67"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 1)
    (old_id,) = portal.state.deals
    live = Sandbox()
    with LoopbackServer(live.app) as server:
        live.url = f"{server.base}/rest/1/sandbox/"
        planted = _plant_other_clients_deal(live)
        assert planted == old_id  # the same id, another client's deal: the trap
        async with gateway(make_config(live.url, telegram.base)) as (client, _runtime):
            await client.post("/webhooks/salon/telegram", json=update(2, "завтра в 3"), headers=HEADERS)
            await wait_for(lambda: len(live.state.deals) == 2 and len(live.state.comments) == 2)
    other = live.state.deals[planted]
    assert {k: other[k] for k in SOMEONE_ELSE} == SOMEONE_ELSE  # not re-titled, not re-owned
    assert not [c for c in live.state.comments.values() if c["ENTITY_ID"] == planted]
    (ours,) = [d for d in live.state.deals.values() if d["ID"] != planted]
    assert ours["ORIGIN_ID"] == "salon:telegram:5512345678"
    assert "+79131234567" not in str(live.state.contacts[int(other["CONTACT_IDS"][0])])


async def test_a_remembered_deal_that_is_not_ours_is_left_alone(make_config, portal, telegram):
    async with gateway(make_config(portal.url, telegram.base)) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 1)
        (deal_id,) = portal.state.deals
        # the portal was restored from a backup: the id now holds another client's deal, and our link
        # predates the check (a link written before links were checked)
        portal.state.deals[deal_id].update(SOMEONE_ELSE)
        key = "lg:crm:salon:telegram:5512345678"
        raw = (await runtime.redis.get(key)).decode()
        await runtime.redis.set(key, raw.replace('"deal_verified":true', '"deal_verified":false'))
        await client.post("/webhooks/salon/telegram", json=update(2, "завтра в 3"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 2)
    assert {k: portal.state.deals[deal_id][k] for k in SOMEONE_ELSE} == SOMEONE_ELSE
