"""Issue 25: a tenant without `lifecycle:` follows no deal stages, yet a client who writes again after a
manager closed their deal gets a new deal (a returning client's), never a comment on the closed one that
nobody sees. The stage is read once, only after an hour's silence; a running conversation reads nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import gateway, wait_for
from tests.e2e.test_appointments import Clock
from tests.e2e.test_telegram import CHAT, HEADERS, sent_texts, update


def deal_reads(portal: Any) -> int:
    return portal.state.calls.get("crm.deal.list", 0)


async def test_a_client_back_after_the_deal_was_won_gets_a_new_deal(make_config, portal, telegram):
    clock = Clock()
    async with gateway(make_config(portal.url, telegram.base), clock=clock) as (client, _):
        await client.post("/webhooks/salon/telegram", json=update(1, "Хочу на маникюр"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 1)
        (deal_id,) = portal.state.deals
        reads = deal_reads(portal)
        await client.post("/webhooks/salon/telegram", json=update(2, "в субботу можно?"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.comments) == 2)
        assert deal_reads(portal) == reads  # a running conversation: nothing read

        portal.dispatch("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": "WON"}})
        old = dict(portal.state.deals[deal_id])
        clock.move_to(clock() + timedelta(days=30))
        await client.post("/webhooks/salon/telegram", json=update(3, "Здравствуйте, хочу снова"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 2)
        new = next(d for d in portal.state.deals.values() if d["ID"] != deal_id)
        assert new["IS_RETURN_CUSTOMER"] == "Y" and new["ORIGIN_ID"] == f"salon:telegram:{CHAT}#2"
        assert new["CONTACT_IDS"] == old["CONTACT_IDS"]
        await wait_for(lambda: any(c["ENTITY_ID"] == new["ID"] for c in portal.state.comments.values()))
        assert portal.state.deals[deal_id] == old  # the closed deal is left as it is
        assert [c["ENTITY_ID"] for c in portal.state.comments.values()].count(deal_id) == 2
        assert deal_reads(portal) == reads + 1  # one read, for the message after a month's silence
        assert len(sent_texts(telegram)) == 3


async def test_a_client_back_to_a_deal_still_open_stays_on_it(make_config, portal, telegram):
    clock = Clock()
    async with gateway(make_config(portal.url, telegram.base), clock=clock) as (client, _):
        await client.post("/webhooks/salon/telegram", json=update(1, "Хочу на маникюр"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.comments) == 1)
        clock.move_to(clock() + timedelta(hours=3))
        await client.post("/webhooks/salon/telegram", json=update(2, "Вы мне не ответили"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.comments) == 2)
        assert len(portal.state.deals) == 1
