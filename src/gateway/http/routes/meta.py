"""WhatsApp and Instagram webhooks: the verify-token handshake, and signed POSTs of event batches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from adapters.instagram.inbound import parse_instagram
from adapters.meta.batch import Batch, MalformedPayload
from adapters.meta.signature import SIGNATURE_HEADER, HandshakeRefused, handshake_challenge, signature_valid
from adapters.whatsapp.inbound import parse_whatsapp
from domain import Channel
from gateway.bootstrap import Runtime
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import channel_config, counting_refusals, parse_json_body, queued
from gateway.settings import InstagramConfig, WhatsAppConfig
from gateway.store.queue import Outcome

router = APIRouter()

MetaConfig = WhatsAppConfig | InstagramConfig
Parser = Callable[[object, str, MetaConfig, datetime], Batch]


def _parse_whatsapp(raw: object, tenant: str, config: MetaConfig, now: datetime) -> Batch:
    assert isinstance(config, WhatsAppConfig)  # noqa: S101 - the route picks the matching parser
    return parse_whatsapp(raw, tenant, config.phone_number_id, now)


def _parse_instagram(raw: object, tenant: str, config: MetaConfig, now: datetime) -> Batch:
    assert isinstance(config, InstagramConfig)  # noqa: S101
    return parse_instagram(raw, tenant, config.account_id, now)


PARSERS: dict[str, Parser] = {Channel.WHATSAPP: _parse_whatsapp, Channel.INSTAGRAM: _parse_instagram}


def _meta_config(runtime: Runtime, tenant: str, channel: str) -> MetaConfig:
    config = channel_config(runtime, tenant, channel)
    assert isinstance(config, WhatsAppConfig | InstagramConfig)  # noqa: S101
    return config


def handshake(channel: str, tenant: str, request: Request) -> PlainTextResponse:
    config = _meta_config(runtime_of(request), tenant, channel)
    try:
        challenge = handshake_challenge(request.query_params, config.verify_token)
    except HandshakeRefused as exc:
        raise ApiError(exc.status, "handshake_refused", str(exc)) from None
    return PlainTextResponse(challenge)  # as text: a JSON-quoted challenge fails verification


async def receive(channel: str, tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    counter = runtime.metrics.webhooks
    with counting_refusals(runtime, tenant, channel):
        config = _meta_config(runtime, tenant, channel)
        signature = request.headers.get(SIGNATURE_HEADER)
        if signature is None:
            raise ApiError(401, "missing_signature", f"{SIGNATURE_HEADER} header is required")
        body = await read_body(request, runtime.config.max_body_bytes)
        if not signature_valid(body, signature, config.app_secret):
            raise ApiError(403, "bad_signature", f"{SIGNATURE_HEADER} does not match the body")
        raw = parse_json_body(body)
        try:
            batch = PARSERS[channel](raw, tenant, config, runtime.clock())
        except MalformedPayload as exc:
            raise ApiError(400, "malformed_body", str(exc)) from None
        outcomes = {Outcome.QUEUED: 0, Outcome.DUPLICATE: 0}
        # In order: a client's messages queue as they were written. On a 503 Meta re-sends the whole
        # batch, and what was queued already is then a duplicate.
        for event in batch.events:
            outcomes[await queued(runtime.intake.accept(event))] += 1
    for outcome, count in outcomes.items():
        if count:
            counter.labels(tenant, channel, outcome.value).inc(count)
    ignored = sum(batch.ignored.values())
    if ignored:
        counter.labels(tenant, channel, "ignored").inc(ignored)
    for status, count in batch.statuses.items():
        runtime.metrics.delivery_statuses.labels(tenant, channel, status).inc(count)
    return JSONResponse(
        {
            "ok": True,
            "queued": outcomes[Outcome.QUEUED],
            "duplicate": outcomes[Outcome.DUPLICATE],
            "ignored": ignored,
            "statuses": sum(batch.statuses.values()),
        }
    )


# One route per path with both methods, so a 405 lists both in its `Allow` header.
@router.api_route("/webhooks/{tenant}/whatsapp", methods=["GET", "POST"], summary="WhatsApp Cloud API webhook")
async def whatsapp_webhook(tenant: str, request: Request) -> Response:
    if request.method == "GET":
        return handshake(Channel.WHATSAPP, tenant, request)
    return await receive(Channel.WHATSAPP, tenant, request)


@router.api_route("/webhooks/{tenant}/instagram", methods=["GET", "POST"], summary="Instagram messaging webhook")
async def instagram_webhook(tenant: str, request: Request) -> Response:
    if request.method == "GET":
        return handshake(Channel.INSTAGRAM, tenant, request)
    return await receive(Channel.INSTAGRAM, tenant, request)
