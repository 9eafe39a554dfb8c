"""The last known state of each tenant's outside credentials (portal, channels), shared through Redis.

Written by whoever last talked to the service (any worker or replica), read by /readyz and /metrics,
so an expired token is visible to ops instead of being retried forever.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from gateway.store import keys
from gateway.store.redis_result import result

REFRESH_SECONDS = 60.0


class Recorder:
    """Writes a component's state when it changes, and an unchanged one at most once a minute: every
    reply and sync reports in, but only a change (or a stale entry) costs a Redis write."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._written: dict[str, tuple[bool, float]] = {}  # "tenant:component" -> (ok, monotonic time)

    async def record(self, tenant: str, component: str, ok: bool, detail: str = "") -> None:
        name = f"{tenant}:{component}"
        last = self._written.get(name)
        now = time.monotonic()
        if last is not None and last[0] == ok and now - last[1] < REFRESH_SECONDS:
            return
        entry = {"ok": ok, "detail": detail, "at": datetime.now(UTC).isoformat(timespec="seconds")}
        await result(self._redis.hset(keys.HEALTH, name, json.dumps(entry)))
        self._written[name] = (ok, now)


async def read(redis: Redis) -> dict[str, dict[str, Any]]:
    """{"tenant": {"component": {"ok", "detail", "at"}}} for every component seen so far."""
    raw = await result(redis.hgetall(keys.HEALTH))
    found: dict[str, dict[str, Any]] = {}
    for field, value in raw.items():
        name = field.decode() if isinstance(field, bytes) else str(field)
        tenant, _, component = name.partition(":")
        found.setdefault(tenant, {})[component] = json.loads(value)
    return found
