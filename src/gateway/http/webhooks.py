"""What every webhook route checks first: the tenant exists and has the channel configured."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

from gateway.bootstrap import Runtime, TenantServices
from gateway.http.errors import ApiError
from gateway.settings import InstagramConfig, TelegramConfig, WhatsAppConfig
from gateway.settings.channels import MaxConfig, VkConfig
from gateway.store.queue import Outcome, QueueUnavailable


def tenant_services(runtime: Runtime, tenant: str) -> TenantServices:
    services = runtime.tenants.get(tenant)
    if services is None:  # the name is not echoed back: it is whatever the caller put in the path
        raise ApiError(404, "unknown_tenant", "no such tenant")
    return services


ChannelConfig = TelegramConfig | WhatsAppConfig | InstagramConfig | VkConfig | MaxConfig


def channel_config(runtime: Runtime, tenant: str, channel: str) -> ChannelConfig:
    services = tenant_services(runtime, tenant)
    config: ChannelConfig | None = getattr(services.config.channels, channel)
    if config is None:
        raise ApiError(404, "channel_not_configured", f"tenant {tenant!r} has no {channel} channel")
    return config


MAX_DEPTH = 64  # no platform nests its webhook bodies anywhere near this


def parse_json_body(body: bytes) -> Any:
    """The body as JSON with every string safe to store and send on, or a 400.

    Refused: not JSON, integers past Python's 4,300-digit limit, nesting deeper than MAX_DEPTH. Lone
    UTF-16 surrogates (`"\\ud800"`), valid JSON but not encodable as UTF-8, become U+FFFD.
    """
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):  # ValueError: bad JSON or a too-long integer
        raise ApiError(400, "malformed_body", "body is not JSON") from None
    return _clean(parsed)


def _clean(root: Any) -> Any:
    """Replace lone surrogates in every key and string, walking without recursion; refuse deep nesting."""
    holder = [root]
    stack: list[tuple[Any, int]] = [(holder, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ApiError(400, "malformed_body", f"body nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, value in items:
                node[_text(key)] = _text(value) if isinstance(value, str) else value
                if isinstance(value, dict | list):
                    stack.append((value, depth + 1))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    node[index] = _text(value)
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
    return holder[0]


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate; a proper pair was already joined by the JSON reader
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
    return value


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
