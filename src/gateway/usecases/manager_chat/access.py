"""The app's access to its portal: the kept tokens, renewed before the hour ends (one renewal at a time
across replicas, since each renewal spends the refresh token), a refusal kept for /readyz and `check`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from bitrix.errors import BitrixAuthError, BitrixRetryable
from bitrix.oauth import renew
from gateway.settings.bitrix import AppCredentials
from gateway.store import keys
from gateway.store.sql.bitrix_apps import Installation, Installations

logger = logging.getLogger("gateway.usecases.manager_chat.access")

RENEW_BEFORE = timedelta(minutes=5)  # of the access token's hour: renewed on use, never on a timer
REFRESH_TOKEN_DAYS = 180  # a refresh token's life from its last renewal (Bitrix24's OAuth documents)
# A portal the gateway has not called for this long (no chats, no deals) gets its tokens renewed anyway,
# so the refresh token never reaches its 180 days unused.
KEEP_ALIVE_AFTER = timedelta(days=1)

HealthRecord = Callable[[str, str, bool, str], Awaitable[None]]


@dataclass
class AppAccess:
    """An AccessSource (bitrix.oauth) for one tenant."""

    tenant: str
    credentials: AppCredentials
    installations: Installations
    redis: Redis
    http: httpx.AsyncClient
    health: HealthRecord
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _known: Installation | None = None

    async def installation(self) -> Installation:
        if self._known is None:
            self._known = await self.installations.load(self.tenant)
        if self._known is None:  # retried: the admin may be installing it right now
            await self.health(self.tenant, "bitrix_app", False, "not installed in the portal yet")
            raise BitrixRetryable("NOT_INSTALLED", "the Bitrix24 app is not installed in the portal yet")
        return self._known

    def forget(self) -> None:
        """Read the installation again next time (a reinstall changed it)."""
        self._known = None

    async def current(self) -> tuple[str, str]:
        found = await self.installation()
        if found.expires_at - self.clock() < RENEW_BEFORE:
            found = await self._renew(found.access_token)
        return found.client_endpoint, found.access_token

    async def keep_alive(self) -> bool:
        """Renew the tokens if they were last renewed over KEEP_ALIVE_AFTER ago; whether it renewed them.
        Run by the app's cron: renewal otherwise happens only when a call finds the hour spent."""
        found = await self.installations.load(self.tenant)
        if found is None or found.renewal_error is not None or self.clock() - found.renewed_at < KEEP_ALIVE_AFTER:
            return False
        await self._renew(found.access_token)
        return True

    async def expired(self, access_token: str) -> None:
        await self._renew(access_token)

    async def _renew(self, spent: str) -> Installation:
        async with self.redis.lock(keys.app_renewal_lock(self.tenant), timeout=60, blocking_timeout=60):
            found = await self.installations.load(self.tenant)
            if found is None:
                raise BitrixRetryable("NOT_INSTALLED", "the Bitrix24 app is not installed in the portal yet")
            if found.access_token != spent and found.expires_at - self.clock() >= RENEW_BEFORE:
                self._known = found  # another replica renewed it meanwhile
                return found
            try:
                pair = await renew(
                    self.http,
                    self.credentials.oauth_base,
                    self.credentials.client_id,
                    self.credentials.client_secret,
                    found.refresh_token,
                    self.clock().timestamp(),
                )
            except BitrixAuthError as exc:
                reason = f"renewal refused: {exc.code} {exc.description}".strip()
                await self.installations.refused(self.tenant, reason)
                await self.health(self.tenant, "bitrix_app", False, reason[:200])
                logger.error("bitrix app of %s: %s", self.tenant, reason)
                self._known = None
                raise
            now = self.clock()
            expires = datetime.fromtimestamp(pair.expires_at, UTC)
            self._known = await self.installations.renewed(found, pair.access_token, pair.refresh_token, expires, now)
            await self.health(self.tenant, "bitrix_app", True, "tokens renewed")
            logger.info("bitrix app of %s: tokens renewed", self.tenant)
            return self._known
