"""A backlog drained into a portal that fails 30 % of requests (half after doing the work): each lead lands once."""

from __future__ import annotations

import collections
from datetime import UTC, datetime

import pytest

from bitrix.sandbox import Faults
from gateway.store.conversations import DialogueState, TimelineEntry, record_message
from gateway.store.queue import CRM_QUEUE, SYNC_CRM
from tests.conftest import gateway, wait_for

LEADS = 30


@pytest.mark.parametrize("seed", [7, 11, 23, 42])
async def test_every_lead_lands_exactly_once_through_failures(make_config, portal, telegram, seed):
    portal.faults = Faults(error_rate=0.3, seed=seed)
    config = make_config(portal.url, telegram.base).model_copy(
        update={"queue": make_config(portal.url, telegram.base).queue.model_copy(update={"max_attempts": 60})}
    )
    async with gateway(config) as (_client, runtime):
        now = datetime.now(UTC)
        for n in range(LEADS):
            key = f"salon:telegram:{900 + n}"
            state = DialogueState(
                conversation_key=key,
                tenant="salon",
                channel="telegram",
                chat_id=str(900 + n),
                sender_id=str(900 + n),
                name=f"Клиент {n}",
                phone=f"+7913{n:07d}",
            )
            await record_message(runtime.redis, state, TimelineEntry(key=f"tg:{n}", text=f"заявка {n}", at=now))
            await runtime.redis.enqueue_job(SYNC_CRM, "salon", key, _job_id=f"crm:{key}:1", _queue_name=CRM_QUEUE)
        await wait_for(lambda: len(portal.state.deals) >= LEADS and len(portal.state.comments) >= LEADS, limit=90)
        await wait_for(lambda: all(d.get("CONTACT_IDS") for d in portal.state.deals.values()), limit=60)
    assert portal.state.failed > 0  # the faults really happened
    origins = collections.Counter(d["ORIGIN_ID"] for d in portal.state.deals.values())
    assert len(origins) == LEADS and set(origins.values()) == {1}
    phones = collections.Counter(p["VALUE"] for c in portal.state.contacts.values() for p in c.get("PHONE", []))
    assert len(phones) == LEADS and set(phones.values()) == {1}
    per_deal = collections.Counter(c["ENTITY_ID"] for c in portal.state.comments.values())
    assert len(per_deal) == LEADS and set(per_deal.values()) == {1}
