"""A message is recorded on the timeline once, whatever point its handling is cut at.

A loopback proxy stands between the gateway and Redis and cuts the connection once, right after it has
passed on the command that appends to a conversation's timeline (before Redis's answer gets back): the
crash point between writing the entry and marking the message recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from tests.conftest import REDIS_URL, SECRET, gateway, wait_for
from tests.e2e.test_telegram import sent_texts, update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


class CuttingProxy:
    """Forwards to Redis; the first time a client sends an append to a timeline, the connection is cut
    once that command has reached Redis."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.cut = False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        cutting = asyncio.Event()  # this connection's answers stop here

        async def to_redis() -> None:
            while chunk := await reader.read(65536):
                if not self.cut and b"RPUSH" in chunk.upper() and b"lg:tl:" in chunk:
                    self.cut = True
                    cutting.set()
                up_writer.write(chunk)
                await up_writer.drain()
                if cutting.is_set():
                    await asyncio.sleep(0.2)  # Redis has done it; its answer never arrives
                    raise ConnectionResetError

        async def to_client() -> None:
            while chunk := await up_reader.read(65536):
                if cutting.is_set():
                    return
                writer.write(chunk)
                await writer.drain()

        tasks = [asyncio.create_task(to_redis()), asyncio.create_task(to_client())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for stream in (writer, up_writer):
            with contextlib.suppress(Exception):
                stream.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_cut_between_recording_and_marking_leaves_one_timeline_entry(make_config, portal, telegram, redis):
    parts = urlsplit(REDIS_URL)
    proxy = CuttingProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    port = await proxy.start()
    try:
        via_proxy = f"redis://127.0.0.1:{port}{parts.path or '/15'}"
        async with gateway(make_config(portal.url, telegram.base), redis_url=via_proxy) as (client, _runtime):
            await client.post("/webhooks/salon/telegram", json=update(1, "хочу маникюр"), headers=HEADERS)
            await wait_for(lambda: bool(sent_texts(telegram)) and bool(portal.state.comments), limit=30)
            await asyncio.sleep(0.5)  # a second entry, if any, would be synced by now
        assert proxy.cut
        timeline = await redis.lrange("lg:tl:salon:telegram:5512345678", 0, -1)
        assert len(timeline) == 1
        assert len(portal.state.comments) == 1 and len(sent_texts(telegram)) == 1
    finally:
        await proxy.close()
