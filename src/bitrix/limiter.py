"""A leaky bucket per portal, kept in Redis so every replica and worker shares one budget.

Bitrix24 counts requests per portal and source IP: each request adds one, the level drains at
`per_second`, and a request that finds the level at `burst` is refused with 503. Callers ask the
bucket before sending and wait for the time it names instead of being refused.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

# KEYS[1] bucket; ARGV burst, per_second. Returns 0 when admitted, else seconds to wait. The time is
# Redis's own (TIME in the script, replicated by its effects), so replicas on hosts with skewed clocks
# agree, at one round trip a request.
_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'level', 'ts')
local level = tonumber(state[1]) or 0
local ts = tonumber(state[2]) or now
level = math.max(0, level - math.max(0, now - ts) * rate)
if level + 1 <= burst then
  redis.call('HSET', KEYS[1], 'level', level + 1, 'ts', now)
  redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
  return '0'
end
redis.call('HSET', KEYS[1], 'level', level, 'ts', now)
return tostring((level + 1 - burst) / rate)
"""


class ScriptingRedis(Protocol):
    def register_script(self, script: str) -> Any: ...


class LeakyBucket:
    def __init__(self, redis: ScriptingRedis, key: str, burst: int, per_second: float, headroom: int = 2) -> None:
        self._script = redis.register_script(_LUA)
        self.key = key
        # The portal counts a request when it arrives, we when we send it; a request that travels slowly
        # lands later than we counted it. A little headroom keeps that from ever meeting a full bucket.
        self.burst = max(1, burst - headroom) if burst > headroom else burst
        self.per_second = per_second
        self.waited_seconds = 0.0

    async def try_acquire(self) -> float:
        """0.0 when a request may go now, else how long to wait before asking again."""
        result = await self._script(keys=[self.key], args=[self.burst, self.per_second])
        return float(result.decode() if isinstance(result, bytes) else result)

    async def acquire(self) -> None:
        while True:
            wait = await self.try_acquire()
            if wait <= 0:
                return
            self.waited_seconds += wait
            await asyncio.sleep(wait)
