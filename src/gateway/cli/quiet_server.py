"""uvicorn's server, ticking once a second instead of ten times.

uvicorn wakes every 100 ms to see whether it should stop and, every tenth time, to refresh the Date
header. Idle, those wake-ups are a good part of what `run` costs a core; once a second is enough for
both (the header has a one-second resolution, and a stop takes at most a second to be noticed).
"""

from __future__ import annotations

import asyncio

import uvicorn

TICK_SECONDS = 1.0


class QuietServer(uvicorn.Server):
    async def main_loop(self) -> None:
        counter = 0  # uvicorn refreshes the Date header when it is a multiple of 10: every tick here
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000
            await asyncio.sleep(TICK_SECONDS)
            should_exit = await self.on_tick(counter)
