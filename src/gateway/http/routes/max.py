"""POST /webhooks/{tenant}/max: MAX Bot API updates, checked by the `X-Max-Bot-Api-Secret` header (the
secret given when subscribing, compared in constant time); 200 once queued, 503 when it cannot be."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.max.inbound import MaxIgnored, MaxMalformed, parse_max
from domain import Channel
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import channel_config, counting_refusals, parse_json_body, queued
from gateway.settings.channels import MaxConfig

router = APIRouter()
SECRET_HEADER = "X-Max-Bot-Api-Secret"  # noqa: S105 - the header's name, not a secret


@router.post("/webhooks/{tenant}/max", summary="MAX Bot API webhook")
async def max_webhook(tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    with counting_refusals(runtime, tenant, Channel.MAX):
        config = channel_config(runtime, tenant, Channel.MAX)
        assert isinstance(config, MaxConfig)  # noqa: S101 - the max channel's config
        if config.mode != "webhook" or config.secret is None:
            raise ApiError(404, "channel_not_configured", "this bot is polled, not a webhook")
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            raise ApiError(401, "missing_secret", f"{SECRET_HEADER} header is required")
        if not secrets.compare_digest(given.encode(), config.secret.encode()):
            raise ApiError(403, "bad_secret", f"{SECRET_HEADER} does not match")
        body = await read_body(request, runtime.config.max_body_bytes)
        try:
            message = parse_max(parse_json_body(body), tenant, runtime.clock())
        except MaxMalformed as exc:
            raise ApiError(400, "malformed_body", str(exc)) from None
        except MaxIgnored as exc:
            runtime.metrics.webhooks.labels(tenant, Channel.MAX, "ignored").inc()
            return JSONResponse({"ok": True, "status": "ignored", "type": str(exc)[:40]})
        outcome = await queued(runtime.intake.accept(message))
    runtime.metrics.webhooks.labels(tenant, Channel.MAX, outcome.value).inc()
    return JSONResponse({"ok": True, "status": outcome.value})
