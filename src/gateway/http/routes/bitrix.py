"""POST /bitrix/{tenant}/events: Bitrix24's outbound webhook (form-encoded), checked by its application token.

Bitrix24 does not retry a failed event, so it is queued before the answer like any webhook; the worker
reads what changed from the portal (the event carries an ID only).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bitrix.querystring import parse_query
from gateway.bootstrap import Runtime, TenantServices
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import counting_refusals, queued, tenant_services
from gateway.store import keys
from gateway.store.queue import HANDLE_BITRIX_EVENT, Outcome

router = APIRouter()
# A deleted deal unlinks its conversation; with `lifecycle:`, a deal added or changed by a manager is read
# for its visit and stage. Others are acknowledged and ignored.
HANDLED = frozenset({"ONCRMDEALDELETE", "ONCRMDEALUPDATE", "ONCRMDEALADD"})
# With `booking:`, a booking added, moved or deleted in the portal (payload `data[ID]`).
BOOKING_EVENTS = frozenset({"ONBOOKINGADD", "ONBOOKINGUPDATE", "ONBOOKINGDELETE"})


async def read_form(request: Request, runtime: Runtime) -> dict[str, Any]:
    """The form-encoded body Bitrix24 posts (or JSON, which its documents also show; size-limited), or a 400."""
    body = await read_body(request, runtime.config.max_body_bytes)
    try:
        if "json" in request.headers.get("content-type", "").lower():
            found = json.loads(body)
            if not isinstance(found, dict):
                raise ApiError(400, "malformed_body", "body is not a JSON object")
            return found
        return parse_query(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "malformed_body", "body is not a form") from None


def check_application_token(form: dict[str, Any], expected: str) -> None:
    """`auth[application_token]`, compared in constant time: 401 without it, 403 with another."""
    auth = form.get("auth") if isinstance(form.get("auth"), dict) else {}
    token = auth.get("application_token") if isinstance(auth, dict) else None
    if not token:
        raise ApiError(401, "missing_token", "auth[application_token] is required")
    if not expected or not secrets.compare_digest(str(token).encode(), expected.encode()):
        raise ApiError(403, "bad_token", "auth[application_token] does not match")


def entity_id(data: Any) -> str:
    """The changed entity's id (`data[FIELDS][ID]`, or `data[ID]` for a booking); "" when absent or odd."""
    fields = data.get("FIELDS") if isinstance(data, dict) and isinstance(data.get("FIELDS"), dict) else data
    found = fields.get("ID") if isinstance(fields, dict) else None
    if not isinstance(found, str) or not (found.isascii() and found.isdecimal()) or len(found) > 18:
        return ""
    return found


def wanted(services: TenantServices, event: str) -> bool:
    """A deleted deal unlinks its conversation; the lifecycle reads deals (and, with `booking:`, bookings)."""
    return event == "ONCRMDEALDELETE" or (
        services.config.lifecycle is not None
        and (event in HANDLED or (event in BOOKING_EVENTS and services.config.booking is not None))
    )


async def queue_portal_event(runtime: Runtime, tenant: str, event: str, entity: str, ts: str) -> Outcome:
    """Queued before the answer, once per event, entity and moment (Bitrix24 may send one twice)."""
    identity = f"{event}:{entity}:{ts}"
    return await queued(
        runtime.intake.enqueue(
            keys.dedupe(tenant, "bitrix", identity),
            f"b24:{tenant}:{identity}",
            HANDLE_BITRIX_EVENT,
            (tenant, event, int(entity)),
        )
    )


@router.post("/bitrix/{tenant}/events", summary="Bitrix24 outbound webhook")
async def bitrix_events(tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    counter = runtime.metrics.webhooks
    with counting_refusals(runtime, tenant, "bitrix"):
        services = tenant_services(runtime, tenant)
        expected = services.config.bitrix.application_token
        if expected is None:
            raise ApiError(404, "channel_not_configured", f"tenant {tenant!r} has no bitrix.application_token")
        form = await read_form(request, runtime)
        check_application_token(form, expected)
        event = form.get("event")
        event = event.upper() if isinstance(event, str) else ""
        entity = entity_id(form.get("data"))
        if not event or not entity:
            raise ApiError(400, "malformed_body", "event and data[FIELDS][ID] (or data[ID]) are required")
        if not wanted(services, event):
            counter.labels(tenant, "bitrix", "ignored").inc()
            return JSONResponse({"ok": True, "status": "ignored", "reason": f"{event} not handled"})
        outcome = await queue_portal_event(runtime, tenant, event, entity, str(form.get("ts", "")))
    counter.labels(tenant, "bitrix", outcome.value).inc()
    return JSONResponse({"ok": True, "status": outcome.value})
