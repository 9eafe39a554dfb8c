"""Every key the gateway writes expires, except the few bounded by their own use (see store/keys.py)."""

from __future__ import annotations

from gateway.store import budgets, keys
from tests.conftest import SECRET, gateway, wait_for
from tests.e2e.test_telegram import update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
# Drained queues, ops-managed dead letters, the health hash: bounded by use, not by time.
UNBOUNDED = {"lg:queue:inbound", "lg:queue:crm", keys.DEAD_LETTERS, keys.HEALTH}


async def test_after_a_lead_lands_every_key_but_the_bounded_ones_expires(make_config, portal, telegram, redis):
    async with gateway(make_config(portal.url, telegram.base)) as (client, _runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр завтра в 3"), headers=HEADERS)
        await client.post("/webhooks/salon/telegram", json=update(2, "+7 913 123-45-67"), headers=HEADERS)
        await wait_for(lambda: len(portal.state.deals) == 1 and len(portal.state.comments) == 2)
    written = {k.decode() async for k in redis.scan_iter("lg:*")}
    assert any(k.startswith("lg:person:") for k in written) and any(k.startswith("lg:deal:") for k in written)
    forever = sorted([k for k in written - UNBOUNDED if await redis.ttl(k) < 0])
    assert forever == []


async def test_a_budget_counter_left_without_expiry_gets_one_on_its_next_use(redis):
    counter = keys.reply_budget("salon:telegram:1")
    await redis.set(counter, 3)  # what a crash between INCR and EXPIRE used to leave behind
    async with redis.pipeline(transaction=True) as pipe:
        budgets.count_use(pipe, counter, keys.REPLY_BUDGET_WINDOW_SECONDS)
        assert await pipe.execute() == [4]
    assert 0 < await redis.ttl(counter) <= keys.REPLY_BUDGET_WINDOW_SECONDS


async def test_a_budget_allows_its_count_in_a_window_then_refuses(redis):
    taken = [await budgets.take_llm_call(redis, "salon:telegram:2", per_hour=2) for _ in range(3)]
    assert taken == [True, True, False]
    assert 0 < await redis.ttl(keys.llm_budget("salon:telegram:2")) <= keys.LLM_BUDGET_WINDOW_SECONDS
