"""What every webhook route checks first: the tenant exists and has the channel configured."""

from __future__ import annotations

from gateway.config import InstagramConfig, TelegramConfig, WhatsAppConfig
from gateway.http_errors import ApiError
from gateway.runtime import Runtime


def channel_config(runtime: Runtime, tenant: str, channel: str) -> TelegramConfig | WhatsAppConfig | InstagramConfig:
    services = runtime.tenants.get(tenant)
    if services is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant!r}")
    config: TelegramConfig | WhatsAppConfig | InstagramConfig | None = getattr(services.config.channels, channel)
    if config is None:
        raise ApiError(404, "channel_not_configured", f"tenant {tenant!r} has no {channel} channel")
    return config
