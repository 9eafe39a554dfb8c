"""A Redis that restarts or goes away: the in-process workers go on after it, or the process says it is unhealthy."""

from __future__ import annotations

import asyncio

from gateway.cli.embedded_redis import EmbeddedRedis
from tests.conftest import SECRET, gateway, wait_for, wait_for_async
from tests.e2e.test_telegram import sent_texts, update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


async def test_the_workers_go_on_after_redis_restarts(make_config, portal, telegram, tmp_path):
    server = EmbeddedRedis(tmp_path)
    url = server.start()
    try:
        async with gateway(make_config(portal.url, telegram.base), redis_url=url) as (client, runtime):
            await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=HEADERS)
            await wait_for(lambda: len(sent_texts(telegram)) == 1 and len(portal.state.comments) == 1)

            async def idle() -> bool:  # the blip comes between jobs (one cut mid-job waits out its lock)
                keys = [k async for k in runtime.redis.scan_iter("lg:lock:*")]
                return not keys and not await runtime.redis.zcard("lg:queue:inbound")

            await wait_for_async(idle)
            server.stop()  # half a second without Redis, then the same server back with its data
            await asyncio.sleep(0.5)
            server.start()
            accepted = await client.post("/webhooks/salon/telegram", json=update(2, "завтра в 3"), headers=HEADERS)
            assert accepted.json()["status"] == "queued"
            await wait_for(lambda: len(sent_texts(telegram)) == 2, limit=20)
            assert (await client.get("/healthz")).status_code == 200
    finally:
        server.stop()


async def test_healthz_fails_while_the_workers_cannot_reach_redis_and_recovers_after(
    make_config, portal, telegram, tmp_path
):
    server = EmbeddedRedis(tmp_path)
    url = server.start()
    try:
        config = make_config(portal.url, telegram.base)
        async with gateway(config, redis_url=url, unhealthy_after=1.0) as (client, _runtime):
            assert (await client.get("/healthz")).status_code == 200
            server.stop()

            async def unhealthy() -> dict | None:
                response = await client.get("/healthz")
                return response.json() if response.status_code == 503 else None

            body = await wait_for_async(unhealthy, limit=20)
            assert body["status"] == "unhealthy" and "cannot reach Redis" in body["reason"]
            server.start()

            async def healthy() -> bool:
                return (await client.get("/healthz")).status_code == 200

            await wait_for_async(healthy, limit=20)
    finally:
        server.stop()
