"""POST /payments/{tenant}/yookassa: YooKassa's notification that a payment changed. It is not signed, so
it only names a payment: the job reads that payment back from YooKassa with the tenant's key and acts on
what YooKassa says, for a payment of this tenant's deposit only. 200 once queued (a repeat: duplicate)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import parse_json_body, queued, tenant_services
from gateway.store.queue import queue_payment_event

router = APIRouter()

EVENTS = frozenset({"payment.succeeded", "payment.canceled", "payment.waiting_for_capture"})


@router.post("/payments/{tenant}/yookassa", summary="YooKassa's payment notification (read back before acting)")
async def yookassa(tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    services = tenant_services(runtime, tenant)
    if services.config.payments is None or services.deposits is None:
        raise ApiError(404, "payments_not_configured", "this tenant takes no payments")
    raw = await read_body(request, runtime.config.max_body_bytes)
    body = parse_json_body(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_body", "expected a JSON object")
    event, payment = body.get("event"), body.get("object")
    payment_id = payment.get("id") if isinstance(payment, dict) else None
    if body.get("type") != "notification" or not isinstance(event, str) or not isinstance(payment_id, str):
        raise ApiError(400, "malformed_body", "expected {type: notification, event, object: {id}}")
    if not payment_id or len(payment_id) > 64:
        raise ApiError(400, "malformed_body", "object.id is not a payment id")
    if event not in EVENTS:  # refunds and payouts: nothing a deposit waits for
        return JSONResponse({"ok": True, "status": "ignored"})
    # YooKassa repeats a notification byte for byte until it gets a 200: one job for those. A different body
    # naming the same payment (a forgery sent first) gets its own job, so it cannot shadow the real one.
    digest = hashlib.sha256(raw).hexdigest()[:16]
    outcome = await queued(queue_payment_event(runtime.intake, tenant, f"{event}:{digest}", payment_id))
    return JSONResponse({"ok": True, "status": outcome.value})
