"""Issue 26 #6: `forget` also erases what jobs kept of the person (arq's results of finished jobs, the
dead-letter queue) and has Redis rewrite its append-only file, so their words leave the disk too. On the
embedded Redis `make run` uses, which keeps an append-only file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.cli.embedded_redis import EmbeddedRedis
from gateway.store import dlq
from gateway.usecases.people.forget import forget_person
from tests.conftest import SECRET, gateway, wait_for, wait_for_async
from tests.e2e.test_telegram import CHAT, update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
SAID = "Хочу маникюр, мой номер 8 913 123-45-67"
OTHER = "А я хочу стрижку, 8 913 765-43-21"


def on_disk(directory: Path, text: str) -> bool:
    return any(text.encode() in path.read_bytes() for path in directory.rglob("*.aof"))


async def test_forget_erases_job_results_dead_letters_and_the_append_only_file(make_config, portal, telegram, tmp_path):
    server = EmbeddedRedis(tmp_path)
    url = server.start()
    try:
        async with gateway(make_config(portal.url, telegram.base), redis_url=url) as (client, runtime):
            await runtime.redis.config_set("aof-use-rdb-preamble", "no")  # the file as text, to look into
            await client.post("/webhooks/salon/telegram", json=update(1, SAID), headers=HEADERS)
            other = update(2, OTHER)
            other["message"]["chat"]["id"] = other["message"]["from"]["id"] = 777
            await client.post("/webhooks/salon/telegram", json=other, headers=HEADERS)
            await wait_for(lambda: len(portal.state.comments) == 2)

            async def results() -> list[bytes]:
                return [await runtime.redis.get(k) async for k in runtime.redis.scan_iter("arq:result:*")]

            await wait_for_async(lambda: _mentions(results, "123-45-67"))
            payload = {"tenant": "salon", "channel": "telegram", "chat_id": str(CHAT), "text": SAID}
            await dlq.park(runtime.redis, "handle_inbound", [payload], "salon", "test", 3)
            await dlq.park(
                runtime.redis, "handle_inbound", [{**payload, "chat_id": "777", "text": OTHER}], "salon", "t", 3
            )
            await asyncio.sleep(1.5)  # appendfsync everysec
            assert on_disk(tmp_path, "123-45-67")  # what the check below looks for is there before

            erased = await forget_person(runtime.redis, None, "salon", "+79131234567")
            assert erased.job_traces >= 2 and erased.append_only_file == "rewriting"
            assert not await _mentions(results, "123-45-67") and await _mentions(results, "765-43-21")
            assert [e["args"][0]["chat_id"] for e in await dlq.entries(runtime.redis)] == ["777"]

            async def rewritten() -> bool:
                info = await runtime.redis.info("persistence")
                return not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]

            await wait_for_async(rewritten)
            assert not on_disk(tmp_path, "123-45-67") and on_disk(tmp_path, "765-43-21")
    finally:
        server.stop()


async def _mentions(results: Any, text: str) -> bool:
    return any(text.encode() in (raw or b"") for raw in await results())
