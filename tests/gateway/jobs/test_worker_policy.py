"""Every way a job can end is done, retried or parked: nothing escapes to arq, which would drop it."""

from __future__ import annotations

import json
import logging

import pytest

from gateway.logs import JsonFormatter
from gateway.store import dlq
from tests.conftest import SECRET, gateway, wait_for_async
from tests.e2e.test_telegram import update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


async def test_a_portal_refusing_a_field_parks_the_sync_with_its_reason_and_shows_it(make_config, portal, telegram):
    portal.faults.refuse = {"crm.deal.add": "Field UF_CRM_NOPE not found"}
    lines: list[dict] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(json.loads(JsonFormatter().format(record)))  # type: ignore[method-assign]
    logging.getLogger("gateway.jobs.guard").addHandler(handler)
    async with gateway(make_config(portal.url, telegram.base)) as (client, runtime):
        await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=HEADERS)
        (parked,) = await wait_for_async(lambda: dlq.entries(runtime.redis))
        assert parked["function"] == "sync_crm"
        assert "UF_CRM_NOPE" in parked["reason"] and parked["tenant"] == "salon"
        ready = (await client.get("/readyz")).json()
        assert ready["checks"]["dead_letters"] == "1"
        assert ready["tenants"]["salon"]["bitrix"]["ok"] is False
        assert "UF_CRM_NOPE" in ready["tenants"]["salon"]["bitrix"]["detail"]
        parked_line = next(line for line in lines if "parked" in line["msg"])
        assert parked_line["level"] == "error" and parked_line["tenant"] == "salon"
        assert parked_line["conversation"].startswith("salon:telegram:")
        metrics = (await client.get("/metrics")).text
        assert 'lead_gateway_jobs_total{function="sync_crm",outcome="dead_letter"} 1.0' in metrics
        portal.faults.refuse = {}  # fixed in the portal: the parked work replays into a deal
        assert await dlq.replay(runtime.redis) == 1
        await wait_for_async(lambda: _deals(portal))
    logging.getLogger("gateway.jobs.guard").removeHandler(handler)


async def _deals(portal):
    return len(portal.state.deals) == 1


async def test_a_business_store_that_cannot_be_reached_is_retried_and_a_bad_statement_is_not(tmp_path):
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.jobs.guard import store_outage
    from gateway.store.sql.engine import make_engine

    unreachable = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'store.db'}")
    reachable = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    try:
        with pytest.raises(SQLAlchemyError) as down:
            async with unreachable.connect() as connection:
                await connection.execute(text("SELECT 1"))
        with pytest.raises(SQLAlchemyError) as wrong:
            async with reachable.connect() as connection:
                await connection.execute(text("SELECT * FROM no_such_table"))
    finally:
        await unreachable.dispose()
        await reachable.dispose()
    assert store_outage(down.value) is True
    assert store_outage(wrong.value) is False
