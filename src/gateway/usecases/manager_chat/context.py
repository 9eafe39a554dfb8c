"""What the manager-chat use cases work with, for one tenant (built by the composition root)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from redis.asyncio import Redis

from bitrix.batcher import Batcher
from domain import Channel, Sender
from gateway.settings.bitrix import AppCredentials
from gateway.settings.tenant import TenantConfig
from gateway.store.sql.bitrix_apps import Installations
from gateway.usecases.manager_chat.access import AppAccess, HealthRecord
from gateway.usecases.messaging.delivery import Outbox


@dataclass(frozen=True)
class AppContext:
    tenant: str
    config: TenantConfig
    app: AppCredentials
    access: AppAccess
    crm: Batcher  # the tenant's, calling as the app
    redis: Redis
    http: httpx.AsyncClient
    health: HealthRecord
    channels: frozenset[Channel]  # those the tenant has: one connector each
    sender_of: Callable[[Channel], Sender]  # the channel's own sender (a manager's words are not mirrored back)
    outbox: Outbox  # messages meant for a person (a robot's): mirrored senders, fallback, SMS last
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def installations(self) -> Installations:
        return self.access.installations

    async def line(self) -> int:
        return (await self.access.installation()).line_id or self.app.line
