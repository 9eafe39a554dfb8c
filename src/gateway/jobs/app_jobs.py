"""The Bitrix24 app's jobs: its setup after an install, the chat mirrored into the Open Line, a manager's
message to the client, and the end of a manager's dialog. Each runs guarded like every job."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from arq.cron import CronJob, cron
from redis.exceptions import RedisError

from bitrix.errors import BitrixError
from bitrix.messageservice import ProviderMessage
from bitrix.openlines import DialogFinished, ManagerMessage
from domain import SendRejected
from gateway.bootstrap import Runtime
from gateway.jobs.guard import guarded
from gateway.store.job_format import (
    APP_SETUP,
    DIALOG_FINISH,
    HANDOFF_TODO,
    MANAGER_REPLY,
    MIRROR_CHAT,
    PROVIDER_MESSAGE,
)
from gateway.store.queue import Outcome, queue_manager_reply, queue_provider_message
from gateway.usecases.manager_chat import handoff, install, mirror, reconcile, replies, robots
from gateway.usecases.manager_chat.context import AppContext

logger = logging.getLogger("gateway.jobs.app_jobs")


def _app(runtime: Runtime, tenant: str) -> AppContext:
    services = runtime.tenants.get(tenant)
    if services is None or services.app is None:
        raise SendRejected(f"tenant {tenant!r} no longer runs as a Bitrix24 app")
    return services.app


async def app_setup(ctx: dict[str, Any], tenant: str) -> str:
    async def work() -> str:
        return await install.set_up(_app(ctx["runtime"], tenant))

    return await guarded(ctx, APP_SETUP, [tenant], tenant, work)


async def mirror_chat(ctx: dict[str, Any], tenant: str, conversation: str) -> str:
    async def work() -> str:
        return await mirror.mirror(_app(ctx["runtime"], tenant), conversation)

    return await guarded(ctx, MIRROR_CHAT, [tenant, conversation], tenant, work, conversation=conversation)


async def manager_reply(ctx: dict[str, Any], tenant: str, payload: dict[str, Any]) -> str:
    async def work() -> str:
        fields = {**payload, "files": tuple(tuple(f) for f in payload.get("files", ()))}
        message = ManagerMessage(**fields)
        return await replies.deliver(_app(ctx["runtime"], tenant), message)

    ids = {"event_id": f"b24msg:{payload.get('message_id')}"}
    return await guarded(ctx, MANAGER_REPLY, [tenant, payload], tenant, work, **ids)


async def provider_message(ctx: dict[str, Any], tenant: str, payload: dict[str, Any]) -> str:
    async def work() -> str:
        return await robots.send(_app(ctx["runtime"], tenant), provider_message_of(payload))

    ids = {"event_id": f"b24sms:{payload.get('message_id')}"}
    return await guarded(ctx, PROVIDER_MESSAGE, [tenant, payload], tenant, work, **ids)


def provider_message_of(payload: dict[str, Any]) -> ProviderMessage:
    return ProviderMessage(**{**payload, "bindings": tuple(tuple(b) for b in payload.get("bindings", ()))})


async def dialog_finish(ctx: dict[str, Any], tenant: str, payload: dict[str, Any]) -> str:
    async def work() -> str:
        finished = DialogFinished(**{**payload, "also": tuple(payload.get("also") or ())})  # JSON made it a list
        return await replies.finish(_app(ctx["runtime"], tenant), finished)

    return await guarded(ctx, DIALOG_FINISH, [tenant, payload], tenant, work)


async def handoff_todo(ctx: dict[str, Any], tenant: str, conversation: str, handed_at: str) -> str:
    async def work() -> str:
        return await handoff.open_todo(_app(ctx["runtime"], tenant), conversation, datetime.fromisoformat(handed_at))

    return await guarded(ctx, HANDOFF_TODO, [tenant, conversation, handed_at], tenant, work, conversation=conversation)


async def reconcile_chats(ctx: dict[str, Any]) -> str:
    """Cron: every app tenant's open chats read back for manager messages whose event was lost, robots'
    messages held through quiet hours released, and the tokens of a portal left idle for a day renewed."""
    runtime: Runtime = ctx["runtime"]
    found = 0
    for tenant, services in runtime.tenants.items():
        if services.app is None:
            continue

        async def queue_reply(message: ManagerMessage, tenant: str = tenant) -> bool:
            outcome = await queue_manager_reply(runtime.intake, tenant, message.message_id, asdict(message))
            return outcome == Outcome.QUEUED

        async def queue_released(message: ProviderMessage, tenant: str = tenant) -> bool:
            release = f":{int(runtime.clock().timestamp())}"
            outcome = await queue_provider_message(runtime.intake, tenant, message.message_id, asdict(message), release)
            return outcome == Outcome.QUEUED

        try:
            await services.app.access.keep_alive()  # an idle portal's refresh token never runs out
            found += await robots.release(services.app, queue_released)
            found += await reconcile.reconcile(services.app, queue_reply)
        except (BitrixError, RedisError, OSError) as exc:  # the next run tries again; the others go on
            logger.warning("reconciling %s's open chats failed: %s", tenant, exc)
    return f"queued {found}"


def app_crons(every_seconds: int) -> list[CronJob]:
    """The open chats' reconciliation every `every_seconds` (2 minutes in production, a second in tests)."""
    if every_seconds >= 60:
        minutes = set(range(0, 60, max(1, every_seconds // 60)))
        return [cron(reconcile_chats, name=RECONCILE_CHATS, minute=minutes, second=0, microsecond=0, timeout=120)]
    seconds = set(range(0, 60, max(1, every_seconds)))
    return [cron(reconcile_chats, name=RECONCILE_CHATS, second=seconds, microsecond=0, timeout=120)]


RECONCILE_CHATS = "reconcile_chats"
APP_JOBS = {
    HANDOFF_TODO: handoff_todo,
    APP_SETUP: app_setup,
    MIRROR_CHAT: mirror_chat,
    MANAGER_REPLY: manager_reply,
    DIALOG_FINISH: dialog_finish,
    PROVIDER_MESSAGE: provider_message,
}
