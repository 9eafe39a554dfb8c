"""POST /webhooks/{tenant}/telegram: check the secret, parse, dedupe, queue, answer."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.telegram.inbound import Ignored, MalformedUpdate, parse_update
from domain import Channel
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import channel_config, counting_refusals, parse_json_body, queued
from gateway.settings import TelegramConfig

router = APIRouter()
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


@router.post("/webhooks/{tenant}/telegram", summary="Telegram Bot API webhook")
async def telegram_webhook(tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    metrics = runtime.metrics.webhooks
    with counting_refusals(runtime, tenant, Channel.TELEGRAM):
        telegram = channel_config(runtime, tenant, Channel.TELEGRAM)
        assert isinstance(telegram, TelegramConfig)  # noqa: S101 - the channel named above
        if telegram.secret_token is None:
            raise ApiError(404, "channel_not_configured", "this tenant's Telegram bot uses polling")
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            raise ApiError(401, "missing_secret", f"{SECRET_HEADER} header is required")
        if not secrets.compare_digest(given.encode(), telegram.secret_token.encode()):
            raise ApiError(403, "bad_secret", f"{SECRET_HEADER} does not match")
        body = await read_body(request, runtime.config.max_body_bytes)
        raw = parse_json_body(body)
        try:
            parsed = parse_update(raw, tenant, runtime.clock())
        except MalformedUpdate as exc:
            raise ApiError(400, "malformed_body", str(exc)) from None
        if isinstance(parsed, Ignored):
            metrics.labels(tenant, Channel.TELEGRAM, "ignored").inc()
            return JSONResponse({"ok": True, "status": "ignored", "reason": parsed.reason})
        outcome = await queued(runtime.intake.accept(parsed))
    metrics.labels(tenant, Channel.TELEGRAM, outcome.value).inc()
    return JSONResponse({"ok": True, "status": outcome.value})
