"""Fold the analytics facts from the Redis stream into the business store: one consumer at a time (a
Redis lock), a batch at a time; a batch is taken off the stream only once it is stored, and storing it
again after a crash changes nothing (each fact's key is unique)."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import LockError

from gateway.bootstrap import Runtime
from gateway.store import facts, keys

logger = logging.getLogger("gateway.jobs.facts")

FOLD_FACTS = "fold_facts"
BATCH = 500  # facts read from the stream at a time
FOLD_SECONDS = 30.0


async def fold_facts(ctx: dict[str, Any]) -> str:
    runtime: Runtime = ctx["runtime"]
    if runtime.store is None:
        return "off"
    try:
        async with runtime.redis.lock(keys.facts_lock(), timeout=FOLD_SECONDS + 30, blocking_timeout=0.01):
            folded = await fold_pending(runtime)
    except LockError:
        return "busy"
    return f"{folded} folded"


async def fold_pending(runtime: Runtime, batch: int = BATCH) -> int:
    """Fold what the stream holds now; how many facts."""
    from gateway.store.sql.analytics import fold

    assert runtime.store is not None  # noqa: S101 - checked by the caller
    started, done = time.monotonic(), 0
    while time.monotonic() - started < FOLD_SECONDS:
        found = await facts.pending(runtime.redis, batch)
        if not found:
            break
        await fold(runtime.store, [fact for _, fact in found])
        await facts.folded(runtime.redis, [stream_id for stream_id, _ in found])
        done += len(found)
        if len(found) < batch:
            break
    if done:
        logger.debug("%d facts folded into the business store", done)
    return done
