"""Issue 25: two processes on one business store with different configs, as in a rolling deploy that adds
a tenant, or a second deployment sharing a PostgreSQL. A process drains only the agenda of the tenants
(and portals) it serves: it neither marks another's reminders stale nor sends them from its own config."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from domain import Address
from gateway.store.sql.agenda import plan_reminders, planned_reminders, reminder_outcomes
from gateway.store.sql.visits import book_visit
from tests.conftest import gateway, wait_for
from tests.e2e.test_appointments import Clock, lifecycle_config, sent, store_of, visit_day

SPA_CHAT = 7000001


async def _visit_due_now(runtime: Any, tenant: str, portal: str, clock: Clock) -> int:
    day = visit_day()
    visit = await book_visit(
        store_of(runtime),
        tenant=tenant,
        portal=portal,
        conversation=f"{tenant}:telegram:{SPA_CHAT}",
        to=Address("telegram", str(SPA_CHAT)),
        deal_id=None,
        start_at=day,
        end_at=day + timedelta(hours=1),
        services=["manicure"],
        capacity=5,
        now=clock(),
    )
    assert visit is not None
    await plan_reminders(store_of(runtime), visit.id, [("24h", clock() - timedelta(seconds=1))])
    return visit.id


async def test_a_process_without_a_tenant_leaves_its_reminders_to_one_with_it(make_config, portal, telegram, store_url):
    clock = Clock()
    old = lifecycle_config(make_config, portal, telegram)
    new = old.model_copy(update={"tenants": {**old.tenants, "spa": old.tenants["salon"]}})
    async with AsyncExitStack() as stack:
        old_replica = AsyncExitStack()
        _client, runtime = await old_replica.enter_async_context(gateway(old, store_url=store_url, clock=clock))
        stack.push_async_callback(old_replica.aclose)
        portal_of_spa = runtime.tenants["salon"].portal  # the same webhook: the same portal
        visit_id = await _visit_due_now(runtime, "spa", portal_of_spa, clock)
        await asyncio.sleep(2.5)  # the agenda is looked at every second in tests
        assert await reminder_outcomes(store_of(runtime), visit_id) == []  # not stale: not its tenant
        assert [kind for kind, _ in await planned_reminders(store_of(runtime), visit_id)] == ["24h"]
        # the new replica starts, then the old one stops (while both run, each tick's drain goes to
        # whichever takes it: the old one leaves the row again, the new one sends it)
        _other, updated = await stack.enter_async_context(gateway(new, store_url=store_url, clock=clock))
        await old_replica.aclose()
        await wait_for(lambda: len(sent(telegram, SPA_CHAT)) == 1)
        assert sent(telegram, SPA_CHAT)[0]["text"].startswith("Напоминаем")
        assert await reminder_outcomes(store_of(updated), visit_id) == [("24h", "sent")]


async def test_a_tenant_of_the_same_name_on_another_portal_is_another_business(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    async with gateway(lifecycle_config(make_config, portal, telegram), store_url=store_url, clock=clock) as (
        _client,
        runtime,
    ):
        visit_id = await _visit_due_now(runtime, "salon", "another-portal", clock)
        await asyncio.sleep(2.5)
        assert not sent(telegram, SPA_CHAT)  # never sent from this config, nor noted on this portal
        assert await reminder_outcomes(store_of(runtime), visit_id) == []
