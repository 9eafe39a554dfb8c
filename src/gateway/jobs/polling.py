"""Telegram getUpdates for bots with no public HTTPS address, into the same intake as webhooks."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from adapters.telegram.errors import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from adapters.telegram.inbound import Ignored, MalformedUpdate, parse_update
from gateway.bootstrap import Runtime
from gateway.store.queue import QueueUnavailable

logger = logging.getLogger("gateway.jobs.polling")
POLL_TIMEOUT = 25


async def poll_tenant(runtime: Runtime, tenant: str) -> None:
    sender = runtime.tenants[tenant].senders["telegram"]
    bot = sender.bot  # type: ignore[attr-defined]
    # getUpdates and a webhook exclude each other; polling mode means this bot has no webhook.
    await bot.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    while True:
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
                parsed = parse_update(raw, tenant, datetime.now(UTC))
                if not isinstance(parsed, Ignored):
                    await runtime.intake.accept(parsed)
                runtime.metrics.webhooks.labels(tenant, "telegram", "polled").inc()
            except MalformedUpdate:
                logger.warning("update %s from getUpdates could not be read", update.update_id)
            except QueueUnavailable:
                # keep the offset: Telegram holds the update until the queue takes it
                await asyncio.sleep(2)
                break
            offset = update.update_id + 1


def start_pollers(runtime: Runtime) -> list[asyncio.Task[None]]:
    tasks = []
    for tenant_id, services in runtime.tenants.items():
        telegram = services.config.channels.telegram
        if telegram is not None and telegram.mode == "polling":
            tasks.append(asyncio.create_task(poll_tenant(runtime, tenant_id), name=f"poll-{tenant_id}"))
    return tasks
