"""The Bitrix24 app's part of the composition: a tenant's installation access, its Open Line context, the
senders that log what they send for the line, and the conversation's hooks for a manager and a hand-off."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from arq.connections import ArqRedis

from domain import Channel, Sender
from gateway.settings import TenantConfig
from gateway.store import keys
from gateway.store.queue import Intake, queue_crm_sync, queue_handoff

if TYPE_CHECKING:
    from gateway.bootstrap import Runtime, TenantServices
    from gateway.usecases.manager_chat.context import AppContext


def app_access(runtime: Runtime, tenant_id: str, tenant: TenantConfig) -> Any:
    """The tenant's AppAccess: its installation kept in the business store (SQLAlchemy, cryptography)."""
    from gateway.store.sql.bitrix_apps import Installations
    from gateway.usecases.manager_chat.access import AppAccess

    assert tenant.bitrix.app is not None and runtime.store is not None  # noqa: S101 - built for app tenants
    assert runtime.config.secret_key is not None  # noqa: S101 - the config requires it with `bitrix.app`
    return AppAccess(
        tenant=tenant_id,
        credentials=tenant.bitrix.app,
        installations=Installations(runtime.store, runtime.config.secret_key),
        redis=runtime.redis,
        http=runtime.http,
        health=runtime.health.record,
        clock=runtime.clock,
    )


def mirrored(senders: dict[str, Sender], runtime: Runtime, tenant_id: str) -> dict[str, Sender]:
    """Every messenger's sender logs what it sent for the Open Line (SMS has no chat there)."""
    from gateway.usecases.manager_chat.mirror import MirroringSender

    return {
        channel: sender
        if channel == Channel.SMS
        else MirroringSender(sender, runtime.redis, tenant_id, Channel(channel), runtime.clock)
        for channel, sender in senders.items()
    }


def app_context(runtime: Runtime, t: TenantServices, access: Any) -> AppContext:
    from gateway.bootstrap import NoChannel  # the composition root's, imported once it is loaded
    from gateway.usecases.manager_chat.context import AppContext
    from gateway.usecases.messaging.delivery import Outbox

    assert t.config.bitrix.app is not None  # noqa: S101 - built for app tenants
    channels = {Channel(c) for c in t.raw_senders if c != Channel.SMS}
    if t.config.forms is not None:
        channels.add(Channel.FORM)
    return AppContext(
        tenant=t.id,
        config=t.config,
        app=t.config.bitrix.app,
        access=access,
        crm=t.crm,
        redis=runtime.redis,
        http=runtime.http,
        health=runtime.health.record,
        channels=frozenset(channels),
        sender_of=lambda channel: t.raw_senders.get(channel, NoChannel()),
        outbox=Outbox(
            tenant=t.id,
            portal=t.portal,
            redis=runtime.redis,
            engine=runtime.store,
            tz=t.config.tz,
            sender_of=lambda channel: t.senders.get(channel, NoChannel()),
            sms=t.config.sms is not None,
            queue_crm_sync=functools.partial(queue_crm_sync, runtime.redis, t.id),
        ),
        clock=runtime.clock,
    )


async def manager_leads(redis: ArqRedis, conversation: str) -> bool:
    """Whether a manager leads the conversation (app mode): then the bot keeps quiet."""
    return bool(await redis.exists(keys.manager_holds(conversation)))


async def queue_handoff_of(intake: Intake, tenant: str, state: Any, at: datetime) -> None:
    """The bot handed the client over: the manager's to-do is made by a job (the deal may not exist yet)."""
    await queue_handoff(intake, tenant, state.conversation_key, at)


async def log_for_line(
    redis: ArqRedis,
    t: TenantServices,
    secret: str,
    clock: Callable[[], datetime],
    state: Any,
    key: str,
    text: str,
    at: datetime,
    files: Any,
) -> None:
    from gateway.usecases.manager_chat.media import file_links
    from gateway.usecases.manager_chat.mirror import log_client

    assert t.config.bitrix.app is not None  # noqa: S101 - logged for app tenants only
    links = file_links(t.config.bitrix.app.public_url, secret, t.id, state.channel.value, files, clock())
    name = state.name or state.username or ""
    await log_client(redis, t.id, state.conversation_key, key, text, at, name, links)
