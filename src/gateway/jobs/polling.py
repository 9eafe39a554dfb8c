"""Telegram getUpdates for bots with no public HTTPS address, into the same intake as webhooks.

Telegram answers 409 Conflict to a second getUpdates on the same bot, so across every process that
starts pollers (each `run`/`serve` replica), one holds a bot's lease in Redis and polls; the others
wait and take over when it stops or dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from redis.exceptions import RedisError

from adapters.telegram.errors import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from adapters.telegram.inbound import Ignored, MalformedUpdate, parse_update
from domain import Channel
from gateway.bootstrap import Runtime
from gateway.store import keys, leases
from gateway.store.queue import QueueUnavailable

logger = logging.getLogger("gateway.jobs.polling")
POLL_TIMEOUT = 25
LEASE_SECONDS = POLL_TIMEOUT + 20  # outlives one long poll; renewed before each
WAIT_SECONDS = 5.0  # how often a process without the lease asks for it


async def poll_tenant(runtime: Runtime, tenant: str, owner: str, wait_seconds: float = WAIT_SECONDS) -> None:
    sender = runtime.tenants[tenant].senders[Channel.TELEGRAM]
    bot = sender.bot  # type: ignore[attr-defined]
    lease = keys.poller_lease(str(bot.id))
    try:
        while True:
            try:
                if await leases.take(runtime.redis, lease, owner, LEASE_SECONDS):
                    logger.info("polling Telegram for %s", tenant)
                    await _poll_while_leased(runtime, tenant, bot, lease, owner)
            except RedisError as exc:
                logger.warning("poller for %s: Redis unavailable (%s); trying again", tenant, type(exc).__name__)
            await asyncio.sleep(wait_seconds)
    finally:
        with contextlib.suppress(RedisError, OSError):  # let another process take over at once
            await asyncio.shield(leases.release(runtime.redis, lease, owner))


async def _poll_while_leased(runtime: Runtime, tenant: str, bot: Any, lease: str, owner: str) -> None:
    # getUpdates and a webhook exclude each other; polling mode means this bot has no webhook.
    await bot.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    while await leases.renew(runtime.redis, lease, owner, LEASE_SECONDS):
        try:
            updates = await bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, request_timeout=POLL_TIMEOUT + 10)
        except TelegramRetryAfter as exc:
            await asyncio.sleep(exc.retry_after)
            continue
        except (TelegramNetworkError, TelegramAPIError) as exc:
            logger.warning("getUpdates for %s failed: %s", tenant, type(exc).__name__)
            await asyncio.sleep(3)
            continue
        for update in updates:
            raw = update.model_dump(mode="json", exclude_none=True, by_alias=True)
            try:
                parsed = parse_update(raw, tenant, runtime.clock())
                if not isinstance(parsed, Ignored):
                    await runtime.intake.accept(parsed)
                runtime.metrics.webhooks.labels(tenant, Channel.TELEGRAM, "polled").inc()
            except MalformedUpdate:
                logger.warning("update %s from getUpdates could not be read", update.update_id)
            except QueueUnavailable:
                # keep the offset: Telegram holds the update until the queue takes it
                await asyncio.sleep(2)
                break
            offset = update.update_id + 1
    logger.warning("poller for %s lost its lease; another process polls", tenant)


def start_pollers(runtime: Runtime, wait_seconds: float = WAIT_SECONDS) -> list[asyncio.Task[None]]:
    process = uuid.uuid4().hex
    tasks = []
    for tenant_id, services in runtime.tenants.items():
        telegram = services.config.channels.telegram
        if telegram is not None and telegram.mode == "polling":
            poller = poll_tenant(runtime, tenant_id, f"{process}:{tenant_id}", wait_seconds)
            tasks.append(asyncio.create_task(poller, name=f"poll-{tenant_id}"))
        bot = services.config.channels.max
        if bot is not None and bot.mode == "polling":
            from gateway.jobs.max_polling import poll_max

            max_poller = poll_max(runtime, tenant_id, f"{process}:{tenant_id}:max", wait_seconds)
            tasks.append(asyncio.create_task(max_poller, name=f"poll-max-{tenant_id}"))
    return tasks
