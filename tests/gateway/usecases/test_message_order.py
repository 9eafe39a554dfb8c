"""Messages of one conversation are handled in the order they were queued, even when the first one's job
comes back late (a worker killed mid-job: arq hands its job out again only once its lease runs out)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from adapters.telegram.inbound import parse_update
from domain import InboundMessage
from gateway.store import inbox, keys
from gateway.store.queue import HANDLE_INBOUND, INBOUND_QUEUE, inbound_job_id
from gateway.store.redis_result import result
from tests.conftest import gateway, wait_for
from tests.e2e.test_telegram import sent_texts, update


async def test_a_late_first_message_is_still_handled_before_the_second(make_config, portal, telegram):
    async with gateway(make_config(portal.url, telegram.base)) as (_client, runtime):
        first = parse_update(update(1, "Хочу маникюр"), "salon", datetime.now(UTC))
        second = parse_update(update(2, "А сколько стоит?"), "salon", datetime.now(UTC))
        assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
        # queued first, but handed out only later (held by a worker that died, until its lease runs out):
        # its queue score is an hour ahead, so no worker can take it before the test says so
        later_ms = int(time.time() * 1000) + 3_600_000
        await runtime.intake.enqueue(
            keys.dedupe("salon", "telegram", first.dedupe_key),
            inbound_job_id(first),
            HANDLE_INBOUND,
            (first.model_dump(mode="json"),),
            in_order=(keys.inbox(first.conversation_key), inbox.entry(int(time.time() * 1000), first.dedupe_key)),
            now_ms=later_ms,
        )
        await runtime.intake.accept(second)
        await asyncio.sleep(1.0)
        assert sent_texts(telegram) == []  # the second waits for the first
        await runtime.redis.zadd(INBOUND_QUEUE, {inbound_job_id(first): time.time() * 1000})  # the lease ran out
        await wait_for(lambda: len(sent_texts(telegram)) == 2 and len(portal.state.comments) == 2)
    assert sent_texts(telegram)[0].startswith("Здравствуйте")
    comments = [c["COMMENT"] for c in sorted(portal.state.comments.values(), key=lambda c: int(c["ID"]))]
    assert "Хочу маникюр" in comments[0] and "сколько стоит" in comments[1]


async def test_a_parked_message_does_not_hold_up_the_next_one(make_config, portal, telegram):
    """Issue 26 #13: a message whose job is parked (here a payload the worker refuses) is given up on at
    once, so the client's next message is answered without waiting out the three-minute give-up."""
    async with gateway(make_config(portal.url, telegram.base)) as (_client, runtime):
        first = parse_update(update(1, "Хочу маникюр"), "salon", datetime.now(UTC))
        second = parse_update(update(2, "А сколько стоит?"), "salon", datetime.now(UTC))
        assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
        poisoned = {**first.model_dump(mode="json"), "received_at": "not a time"}
        await runtime.intake.enqueue(
            keys.dedupe("salon", "telegram", first.dedupe_key),
            inbound_job_id(first),
            HANDLE_INBOUND,
            (poisoned,),
            in_order=(keys.inbox(first.conversation_key), inbox.entry(int(time.time() * 1000), first.dedupe_key)),
        )
        await wait_for(lambda: runtime.metrics.jobs.labels(HANDLE_INBOUND, "dead_letter")._value.get() == 1)
        await runtime.intake.accept(second)
        await wait_for(lambda: len(sent_texts(telegram)) == 1)
        assert await result(runtime.redis.llen(keys.inbox(first.conversation_key))) <= 1
