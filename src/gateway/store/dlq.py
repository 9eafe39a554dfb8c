"""Work that failed for good, kept in Redis with its reason, to be listed and replayed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import Redis

from gateway.store import keys
from gateway.store.queue import QUEUE_OF
from gateway.store.redis_result import result


async def park(redis: Redis, function: str, args: list[Any], tenant: str, reason: str, attempts: int) -> str:
    entry_id = uuid.uuid4().hex[:12]
    entry = {
        "id": entry_id,
        "function": function,
        "args": args,
        "tenant": tenant,
        "reason": reason,
        "attempts": attempts,
        "failed_at": datetime.now(UTC).isoformat(),
    }
    await result(redis.hset(keys.DEAD_LETTERS, entry_id, json.dumps(entry, ensure_ascii=False)))
    return entry_id


async def entries(redis: Redis, tenant: str | None = None) -> list[dict[str, Any]]:
    raw = await result(redis.hgetall(keys.DEAD_LETTERS))
    found = [json.loads(v) for v in raw.values()]
    return sorted((e for e in found if tenant is None or e["tenant"] == tenant), key=lambda e: e["failed_at"])


async def size(redis: Redis) -> int:
    return int(await result(redis.hlen(keys.DEAD_LETTERS)))


async def replay(redis: ArqRedis, tenant: str | None = None) -> int:
    """Re-queue parked work (the jobs are idempotent) and remove it from the dead letters."""
    count = 0
    for entry in await entries(redis, tenant):
        await redis.enqueue_job(
            entry["function"],
            *entry["args"],
            _job_id=f"replay:{entry['id']}",
            _queue_name=QUEUE_OF[entry["function"]],
        )
        await result(redis.hdel(keys.DEAD_LETTERS, entry["id"]))
        count += 1
    return count
