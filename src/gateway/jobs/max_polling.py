"""MAX long polling (`GET /updates` with `marker`) for a bot set to `mode: polling`: one process at a time
holds the bot's lease in Redis and polls; the updates go into the same intake as the webhook's."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from redis.exceptions import RedisError

from adapters.max.inbound import MaxIgnored, MaxMalformed, parse_max
from domain import Channel, SendError
from gateway.bootstrap import Runtime
from gateway.store import keys, leases
from gateway.store.queue import QueueUnavailable

logger = logging.getLogger("gateway.jobs.max_polling")
POLL_TIMEOUT = 30  # seconds MAX holds a long poll open
LEASE_SECONDS = POLL_TIMEOUT + 20


async def poll_max(runtime: Runtime, tenant: str, owner: str, wait_seconds: float = 5.0) -> None:
    config = runtime.tenants[tenant].config.channels.max
    assert config is not None  # noqa: S101 - started for tenants with a polled MAX bot
    lease = keys.poller_lease("max-" + hashlib.sha256(config.bot_token.encode()).hexdigest()[:16])
    try:
        while True:
            try:
                if await leases.take(runtime.redis, lease, owner, LEASE_SECONDS):
                    logger.info("polling MAX for %s", tenant)
                    await _poll_while_leased(runtime, tenant, lease, owner)
            except RedisError as exc:
                logger.warning("MAX poller for %s: Redis unavailable (%s)", tenant, type(exc).__name__)
            await asyncio.sleep(wait_seconds)
    finally:
        with contextlib.suppress(RedisError, OSError):
            await asyncio.shield(leases.release(runtime.redis, lease, owner))


async def _poll_while_leased(runtime: Runtime, tenant: str, lease: str, owner: str) -> None:
    api = runtime.tenants[tenant].senders[Channel.MAX].api  # type: ignore[attr-defined]
    marker: int | None = None
    while await leases.renew(runtime.redis, lease, owner, LEASE_SECONDS):
        params: dict[str, object] = {"timeout": POLL_TIMEOUT, "limit": 100}
        if marker is not None:
            params["marker"] = marker
        try:
            answer = await api.request("GET", "/updates", params)
        except SendError as exc:
            logger.warning("MAX /updates for %s failed: %s", tenant, exc)
            await asyncio.sleep(3)
            continue
        updates = answer.get("updates", []) if isinstance(answer, dict) else []
        try:
            for update in updates:
                await _accept(runtime, tenant, update)
        except QueueUnavailable:  # keep the marker: the same updates are asked for again
            await asyncio.sleep(2)
            continue
        if isinstance(answer, dict) and isinstance(answer.get("marker"), int):
            marker = answer["marker"]
    logger.warning("MAX poller for %s lost its lease; another process polls", tenant)


async def _accept(runtime: Runtime, tenant: str, update: object) -> None:
    try:
        message = parse_max(update, tenant, runtime.clock())
    except MaxIgnored:
        return
    except MaxMalformed as exc:
        logger.warning("a MAX update for %s could not be read: %s", tenant, exc)
        return
    await runtime.intake.accept(message)
    runtime.metrics.webhooks.labels(tenant, Channel.MAX, "polled").inc()
