"""The last known state of each tenant's outside credentials (portal, channels), shared through Redis.

Written by whoever last talked to the service (any worker or replica), read by /readyz and /metrics,
so an expired token is visible to ops instead of being retried forever.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from gateway import keys
from gateway.redis_result import result


async def record(redis: Redis, tenant: str, component: str, ok: bool, detail: str = "") -> None:
    entry = {"ok": ok, "detail": detail, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    await result(redis.hset(keys.HEALTH, f"{tenant}:{component}", json.dumps(entry)))


async def read(redis: Redis) -> dict[str, dict[str, Any]]:
    """{"tenant": {"component": {"ok", "detail", "at"}}} for every component seen so far."""
    raw = await result(redis.hgetall(keys.HEALTH))
    found: dict[str, dict[str, Any]] = {}
    for field, value in raw.items():
        name = field.decode() if isinstance(field, bytes) else str(field)
        tenant, _, component = name.partition(":")
        found.setdefault(tenant, {})[component] = json.loads(value)
    return found
