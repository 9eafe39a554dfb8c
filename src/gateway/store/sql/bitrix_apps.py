"""The tenants' Bitrix24 app installations, tokens encrypted at rest with the process's Fernet key."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.schema import bitrix_apps

SECRET_COLUMNS = ("access_token", "refresh_token", "application_token")


@dataclass(frozen=True)
class Installation:
    tenant: str
    member_id: str
    domain: str
    client_endpoint: str
    access_token: str
    refresh_token: str
    application_token: str
    expires_at: datetime
    user_id: int | None
    installed_at: datetime
    renewed_at: datetime
    renewal_error: str | None = None
    line_id: int | None = None
    setup_done: datetime | None = None


class TokensUnreadable(Exception):
    """The stored tokens do not open with this key (LEAD_GATEWAY_SECRET_KEY changed): install again."""


class Installations:
    def __init__(self, engine: AsyncEngine, key: str) -> None:
        self._engine = engine
        self._fernet = Fernet(key.encode("ascii"))

    def _seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def _open(self, value: str) -> str:
        try:
            return self._fernet.decrypt(value.encode("ascii")).decode()
        except InvalidToken:
            raise TokensUnreadable("the app's tokens do not open with LEAD_GATEWAY_SECRET_KEY") from None

    async def load(self, tenant: str) -> Installation | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(bitrix_apps).where(bitrix_apps.c.tenant == tenant))).first()
        if row is None:
            return None
        values = dict(row._mapping)
        for column in SECRET_COLUMNS:
            values[column] = self._open(values[column])
        return Installation(**values)

    async def save(self, installation: Installation) -> None:
        """Keep an installation: a reinstall replaces the row (same tenant, same portal)."""
        values = {k: getattr(installation, k) for k in Installation.__dataclass_fields__}
        for column in SECRET_COLUMNS:
            values[column] = self._seal(values[column])
        async with self._engine.begin() as connection:
            changed = await connection.execute(
                update(bitrix_apps).where(bitrix_apps.c.tenant == installation.tenant).values(**values)
            )
            if changed.rowcount == 0:
                await connection.execute(bitrix_apps.insert().values(**values))

    async def renewed(
        self, old: Installation, access: str, refresh: str, expires_at: datetime, at: datetime
    ) -> Installation:
        fresh = replace(
            old, access_token=access, refresh_token=refresh, expires_at=expires_at, renewed_at=at, renewal_error=None
        )
        async with self._engine.begin() as connection:
            await connection.execute(
                update(bitrix_apps)
                .where(bitrix_apps.c.tenant == old.tenant)
                .values(
                    access_token=self._seal(access),
                    refresh_token=self._seal(refresh),
                    expires_at=expires_at,
                    renewed_at=at,
                    renewal_error=None,
                )
            )
        return fresh

    async def refused(self, tenant: str, reason: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(bitrix_apps).where(bitrix_apps.c.tenant == tenant).values(renewal_error=reason[:500])
            )

    async def set_up(self, tenant: str, line_id: int, at: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(bitrix_apps).where(bitrix_apps.c.tenant == tenant).values(line_id=line_id, setup_done=at)
            )
