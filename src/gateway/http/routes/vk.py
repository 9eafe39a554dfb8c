"""POST /webhooks/{tenant}/vk: VK's Callback API. The `confirmation` handshake is answered with the
tenant's string; every other event must carry the community's `secret` (compared in constant time) and is
answered `ok` once queued (503 when it cannot be: VK sends it again)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from adapters.vk.inbound import VkMalformed, envelope, parse_vk
from domain import Channel
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import channel_config, counting_refusals, parse_json_body, queued
from gateway.settings.channels import VkConfig

router = APIRouter()


@router.post("/webhooks/{tenant}/vk", summary="VK Callback API", response_class=PlainTextResponse)
async def vk_webhook(tenant: str, request: Request) -> PlainTextResponse:
    runtime = runtime_of(request)
    counter = runtime.metrics.webhooks
    with counting_refusals(runtime, tenant, Channel.VK):
        config = channel_config(runtime, tenant, Channel.VK)
        assert isinstance(config, VkConfig)  # noqa: S101 - the vk channel's config
        body = await read_body(request, runtime.config.max_body_bytes)
        try:
            event = envelope(parse_json_body(body))
        except VkMalformed as exc:
            raise ApiError(400, "malformed_body", str(exc)) from None
        if event.get("group_id") != config.group_id:
            raise ApiError(403, "wrong_group", "the event is for another community")
        if event["type"] == "confirmation":  # VK asks it before any secret is set up: none is sent
            return PlainTextResponse(config.confirmation)
        given = event.get("secret")
        if not isinstance(given, str) or not given:
            raise ApiError(401, "missing_secret", "the event carries no `secret`")
        if not secrets.compare_digest(given.encode(), config.secret.encode()):
            raise ApiError(403, "bad_secret", "`secret` does not match the community's")
        try:
            batch = parse_vk(event, tenant, runtime.clock())
        except VkMalformed as exc:
            raise ApiError(400, "malformed_body", str(exc)) from None
        outcomes = [await queued(runtime.intake.accept(message)) for message in batch.events]
    for outcome in outcomes:
        counter.labels(tenant, Channel.VK, outcome.value).inc()
    if batch.ignored:
        counter.labels(tenant, Channel.VK, "ignored").inc()
    return PlainTextResponse("ok")  # VK stops sending to a server that answers anything else
