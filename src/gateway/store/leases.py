"""Leases: a named role held by one process at a time (one Telegram poller per bot across replicas).

A lease is a key holding its owner's id, with an expiry the owner keeps renewing; a process that dies
loses it when the key expires, and another takes over.
"""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.store.redis_result import result

# Renew or release only what we still own: compare and act in one step.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def take(redis: Redis, name: str, owner: str, seconds: int) -> bool:
    """True if `owner` now holds the lease (newly, or still)."""
    if await redis.set(name, owner, nx=True, ex=seconds):
        return True
    return await renew(redis, name, owner, seconds)


async def renew(redis: Redis, name: str, owner: str, seconds: int) -> bool:
    return bool(await result(redis.eval(_RENEW, 1, name, owner, str(seconds))))


async def release(redis: Redis, name: str, owner: str) -> None:
    await result(redis.eval(_RELEASE, 1, name, owner))
