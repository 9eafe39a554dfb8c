"""What every webhook route checks first: the tenant exists and has the channel configured."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager

from gateway.bootstrap import Runtime
from gateway.http.errors import ApiError
from gateway.settings import InstagramConfig, TelegramConfig, WhatsAppConfig
from gateway.store.queue import Outcome, QueueUnavailable


def channel_config(runtime: Runtime, tenant: str, channel: str) -> TelegramConfig | WhatsAppConfig | InstagramConfig:
    services = runtime.tenants.get(tenant)
    if services is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant!r}")
    config: TelegramConfig | WhatsAppConfig | InstagramConfig | None = getattr(services.config.channels, channel)
    if config is None:
        raise ApiError(404, "channel_not_configured", f"tenant {tenant!r} has no {channel} channel")
    return config


@contextmanager
def counting_refusals(runtime: Runtime, tenant: str, channel: str) -> Iterator[None]:
    """Count every refused webhook (by error code) in the webhooks metric, then let it through."""
    try:
        yield
    except ApiError as exc:
        runtime.metrics.webhooks.labels(tenant if tenant in runtime.tenants else "unknown", channel, exc.code).inc()
        raise


async def queued(job: Awaitable[Outcome]) -> Outcome:
    """The intake's outcome; Redis not taking the event is a 503, so the platform sends it again."""
    try:
        return await job
    except QueueUnavailable:
        raise ApiError(503, "queue_unavailable", "the event could not be queued; retry later") from None
