"""POST /forms/{tenant}: a website form (Tilda's webhook, urlencoded, or a JSON object) becomes a lead:
a deal with the contact, the form's fields on its timeline and the page's UTM tags. 200 once queued; a
form without a phone, or with the tenant's consent box unticked, is refused with 400 and why."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters.forms.inbound import FormRefused, Submission, flatten, read, text_of
from bitrix.querystring import parse_query
from domain import Attribution, Channel, InboundMessage
from gateway.http.client_address import client_address
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import counting_refusals, parse_json_body, queued, tenant_services
from gateway.store import keys
from gateway.store.redis_result import result
from qualifier.phone import normalize_phone

router = APIRouter()


def _fields(body: bytes, content_type: str) -> dict[str, str]:
    if content_type.startswith("application/json"):
        return flatten(parse_json_body(body))
    try:
        parsed = parse_query(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_body", "the form is not UTF-8") from None
    return {str(k): v if isinstance(v, str) else str(v) for k, v in parsed.items()}


def _lead(tenant: str, submission: Submission, now: datetime) -> InboundMessage:
    phone = normalize_phone(submission.phone) or submission.phone
    person = "".join(ch for ch in phone if ch.isdigit())
    utm = Attribution(code=f"form:{submission.form_id}", **submission.utm) if submission.utm else None
    return InboundMessage(
        tenant=tenant,
        channel=Channel.FORM,
        chat_id=person,  # one conversation per phone: the same person's next form joins it
        sender_id=person,
        dedupe_key=f"{submission.form_id}:{submission.submission_id}",
        message_id=submission.submission_id,
        sent_at=now,
        received_at=now,
        text=text_of(submission),
        sender_name=submission.name,
        contact_phone=phone,
        attribution=utm,
        reach_at=submission.links,
    )


@router.post("/forms/{tenant}", summary="A website form (Tilda or JSON) as a lead")
async def form(tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    with counting_refusals(runtime, tenant, Channel.FORM):
        settings = tenant_services(runtime, tenant).config.forms
        if settings is None:
            raise ApiError(404, "channel_not_configured", "this tenant takes no forms")
        body = await read_body(request, runtime.config.max_body_bytes)
        address = client_address(request, runtime.config.trusted_proxies)
        budget = keys.form_budget(tenant, address)
        posted = int(await result(runtime.redis.incr(budget)))
        if posted == 1:
            await runtime.redis.expire(budget, 60)
        if posted > settings.per_minute:
            raise ApiError(
                429, "too_many_forms", "too many forms from this address; try in a minute", {"Retry-After": "60"}
            )
        try:
            submission = read(_fields(body, request.headers.get("content-type", "")), settings.honeypot)
        except FormRefused as exc:
            raise ApiError(400, exc.code, str(exc)) from None
        if submission is None or submission.is_test:  # a bot in the honeypot is not told so
            status = "test" if submission is not None else "ignored"
            runtime.metrics.webhooks.labels(tenant, Channel.FORM, status).inc()
            return JSONResponse({"ok": True, "status": status})
        if settings.require_consent and not submission.consent:
            raise ApiError(400, "consent_required", "the consent box is not ticked")
        outcome = await queued(runtime.intake.accept(_lead(tenant, submission, runtime.clock())))
    runtime.metrics.webhooks.labels(tenant, Channel.FORM, outcome.value).inc()
    return JSONResponse({"ok": True, "status": outcome.value})
