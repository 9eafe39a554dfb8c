"""Budgets (a conversation's replies a minute and LLM calls an hour, a tenant's VK lookups a minute) as
fixed windows shared through Redis."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from gateway.store import keys
from gateway.store.redis_result import result

# INCR and the window's expiry in one step: a failure between two separate calls would leave a
# counter with no expiry, and the conversation throttled for good.
_COUNT = """
local used = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return used
"""


async def _within(redis: Redis, counter: str, window_seconds: int, allowed: int) -> bool:
    """Count one use; True while the window's count is within `allowed`."""
    used = int(await result(redis.eval(_COUNT, 1, counter, str(window_seconds))))
    return used <= allowed


def count_use(pipe: Pipeline, counter: str, window_seconds: int) -> None:
    """Count one use in the caller's transaction; its result is the window's count so far."""
    pipe.eval(_COUNT, 1, counter, str(window_seconds))


async def login_failures(redis: Redis, tenant: str, address: str) -> int:
    """Wrong passwords counted for this address in its window so far."""
    return int(await result(redis.get(keys.login_failures(tenant, address))) or 0)


async def count_login_failure(redis: Redis, tenant: str, address: str, window_seconds: int) -> int:
    return int(await result(redis.eval(_COUNT, 1, keys.login_failures(tenant, address), str(window_seconds))))


async def retry_login_after(redis: Redis, tenant: str, address: str) -> int:
    return max(int(await result(redis.ttl(keys.login_failures(tenant, address)))), 1)


async def take_llm_call(redis: Redis, conversation: str, per_hour: int) -> bool:
    return await _within(redis, keys.llm_budget(conversation), keys.LLM_BUDGET_WINDOW_SECONDS, per_hour)


async def take_vk_lookup(redis: Redis, tenant: str, per_minute: int) -> bool:
    return await _within(redis, keys.vk_lookups(tenant), 60, per_minute)
