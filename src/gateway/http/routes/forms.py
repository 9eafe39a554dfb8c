"""POST /forms/{tenant}: a website form (Tilda's webhook, urlencoded, or a JSON object) becomes a lead:
a deal with the contact, the form's fields on its timeline and the page's UTM tags. 200 once queued; a
form without a phone, or with the tenant's consent box unticked, is refused with 400 and why."""

from __future__ import annotations

import hashlib
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
from qualifier.phone import TypedPhone, read_phone_field

router = APIRouter()


def _fields(body: bytes, content_type: str) -> dict[str, str]:
    if content_type.strip().lower().startswith("application/json"):  # media types are case-insensitive
        return flatten(parse_json_body(body))
    try:
        return flatten(parse_query(body.decode("utf-8")))
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_body", "the form is not UTF-8") from None


def _phone_lines(typed: TypedPhone) -> tuple[str, ...]:
    """The phone as the client typed it, for the deal's timeline; flagged when no number could be read."""
    if typed.phone is None:
        return (f"Телефон (не распознан, проверьте и позвоните): {typed.typed}",)
    lines = [f"Телефон: {typed.phone}" + (f", доб. {typed.extension}" if typed.extension else "")]
    lines += [f"Ещё телефон: {other}" for other in typed.others]
    return tuple(lines)


def _lead(tenant: str, submission: Submission, now: datetime) -> InboundMessage:
    typed = read_phone_field(submission.phone)
    if typed.phone is not None:
        person = typed.phone.lstrip("+")  # one conversation per phone: the same person's next form joins it
    else:  # what was typed names the conversation, but its digits stay out of keys and logs
        person = "typed-" + hashlib.sha256(submission.phone.encode()).hexdigest()[:16]
    utm = Attribution(code=f"form:{submission.form_id}", **submission.utm) if submission.utm else None
    return InboundMessage(
        tenant=tenant,
        channel=Channel.FORM,
        chat_id=person,
        sender_id=person,
        dedupe_key=f"{submission.form_id}:{submission.submission_id}",
        message_id=submission.submission_id,
        sent_at=now,
        received_at=now,
        text=text_of(submission, _phone_lines(typed)),
        sender_name=submission.name,
        contact_phone=typed.phone,
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
