"""Recommendations end to end: pairs mined from the visited visits in the store (on the agenda's cron, once
a day), listed by `GET /api/{tenant}/recommendations`, and `upsell: auto` offering the mined pair at a
visit's confirmation, added when pressed. Telegram webhook -> Redis -> worker -> the sandbox portal and
the business store (SQLite and PostgreSQL), on a clock the test moves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.store.sql.engine import make_engine
from gateway.store.sql.migrate import migrate
from tests.clock import PINNED
from tests.conftest import gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import HEADERS, Clock, lifecycle_config, press, visit_day
from tests.e2e.test_bring_back import (
    CATALOG,
    POLICY,
    book_and_answer,
    confirm_and_add_paraffin,
    move_deal,
    texts_with,
)
from tests.e2e.test_owner_numbers import OWNER, PASSWORD

# manicure clients mostly take paraffin (the same visit or within 60 days); haircut clients never do
HISTORY = [
    *[(f"+7913000000{n}", 0, "manicure,paraffin") for n in range(3)],
    ("+79130000010", 0, "manicure"),
    ("+79130000010", 20, "paraffin"),
    *[(f"+7913000002{n}", 0, "haircut_men") for n in range(4)],
    ("+79130000030", 0, "manicure"),
]


async def seed(store_url: str) -> None:
    from sqlalchemy import insert

    from gateway.store.sql.schema import visits

    engine = make_engine(store_url)
    await migrate(engine)
    async with engine.begin() as connection:
        for n, (phone, days, services) in enumerate(HISTORY):
            start = PINNED - timedelta(days=100 - days)
            row = {"tenant": "salon", "portal": "old", "conversation": f"salon:telegram:old{n}", "phone": phone}
            values = {"start_at": start, "end_at": start + timedelta(hours=1), "updated_at": start}
            await connection.execute(insert(visits).values(**row, **values, services=services, status="visited"))
    await engine.dispose()


async def test_mined_pairs_are_listed_and_upsell_auto_offers_the_best_one_at_confirmation(
    make_config, portal, telegram, store_url
):
    await seed(store_url)
    lifecycle = {"consent": {"policy_url": POLICY, "text_version": "2026-11"}, "upsell": "auto"}
    extra = {"recommend": {"min_clients": 3, "min_lift": 1.2}, "dashboard": {"password": PASSWORD}}
    config = lifecycle_config(make_config, portal, telegram, lifecycle=lifecycle, catalog=CATALOG, **extra)
    async with gateway(config, store_url=store_url, clock=Clock()) as (client, runtime):

        async def mined() -> Any:
            pairs = (await client.get("/api/salon/recommendations", headers=OWNER)).json()
            return pairs or None

        pairs = await wait_for_async(mined, limit=20)
        # 9 people; manicure: 5, paraffin: 4. manicure -> paraffin: 4 (3 the same visit, 1 twenty days
        # after): confidence 0.8, lift 0.8 / (4/9) = 1.8. paraffin -> manicure: the 3 of the same visit
        # only: 0.75, lift 0.75 / (5/9) = 1.35. Haircut goes with nothing.
        names = {"service_name": "Маникюр", "offer_name": "Парафинотерапия"}
        assert pairs == [
            {"service": "manicure", "offer": "paraffin", "clients": 4, "confidence": 0.8, "lift": 1.8, **names},
            {
                "service": "paraffin",
                "offer": "manicure",
                "clients": 3,
                "confidence": 0.75,
                "lift": 1.35,
                "service_name": "Парафинотерапия",
                "offer_name": "Маникюр",
            },
        ]
        assert (await client.get("/api/salon/recommendations")).status_code == 401

        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        await confirm_and_add_paraffin(client, telegram, visit.id)
        # a pair nobody mined cannot be added by a crafted button
        await client.post("/webhooks/salon/telegram", json=press(62, f"u:a:{visit.id}:haircut_men"), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "неактуальна")) == 1)


async def test_a_retention_offer_names_the_service_such_clients_take_next(make_config, portal, telegram, store_url):
    await seed(store_url)
    lifecycle = {"consent": {"policy_url": POLICY, "text_version": "2026-11"}, "retention": ["1h"]}
    extra = {"recommend": {"min_clients": 3, "min_lift": 1.2}, "dashboard": {"password": PASSWORD}}
    config = lifecycle_config(make_config, portal, telegram, lifecycle=lifecycle, catalog=CATALOG, **extra)
    clock = Clock()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await wait_for_async(lambda: _mined(client), limit=20)
        visit = await book_and_answer(client, telegram, runtime, visit_day(), yes=True)
        await move_deal(client, portal, visit.deal_id, "WON")
        await wait_for_async(lambda: _visited(runtime, visit.id))
        clock.move_to(clock() + timedelta(hours=3, seconds=5))  # manicure's return_after (3h) replaces 1h
        await wait_for(lambda: len(texts_with(telegram, "Пора снова на Маникюр")) == 1, limit=20)
        said = texts_with(telegram, "Пора снова на Маникюр")[0]["text"]
        assert "после неё берут и парафинотерапия" in said


async def _mined(client: Any) -> bool:
    return bool((await client.get("/api/salon/recommendations", headers=OWNER)).json())


async def _visited(runtime: Any, visit_id: int) -> bool:
    from gateway.store.sql.visits import visit_by_id
    from tests.e2e.test_appointments import store_of

    visit = await visit_by_id(store_of(runtime), visit_id)
    return visit is not None and visit.status == "visited"
