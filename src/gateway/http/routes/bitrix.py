"""POST /bitrix/{tenant}/events: Bitrix24's outbound webhook (form-encoded), checked by its application token.

Bitrix24 does not retry a failed event, so it is queued before the answer like any webhook; the worker
reads what changed from the portal (the event carries an ID only).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bitrix.querystring import parse_query
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import counting_refusals, queued, tenant_services
from gateway.store import keys
from gateway.store.queue import HANDLE_BITRIX_EVENT

router = APIRouter()
# A deleted deal unlinks its conversation; with `lifecycle:`, a deal added or changed by a manager is read
# for its visit and stage. Others are acknowledged and ignored.
HANDLED = frozenset({"ONCRMDEALDELETE", "ONCRMDEALUPDATE", "ONCRMDEALADD"})
# With `booking:`, a booking added, moved or deleted in the portal (payload `data[ID]`).
BOOKING_EVENTS = frozenset({"ONBOOKINGADD", "ONBOOKINGUPDATE", "ONBOOKINGDELETE"})


@router.post("/bitrix/{tenant}/events", summary="Bitrix24 outbound webhook")
async def bitrix_events(tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    counter = runtime.metrics.webhooks
    with counting_refusals(runtime, tenant, "bitrix"):
        services = tenant_services(runtime, tenant)
        expected = services.config.bitrix.application_token
        if expected is None:
            raise ApiError(404, "channel_not_configured", f"tenant {tenant!r} has no bitrix.application_token")
        body = await read_body(request, runtime.config.max_body_bytes)
        try:
            form: dict[str, Any] = parse_query(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiError(400, "malformed_body", "body is not a form") from None
        auth = form.get("auth") if isinstance(form.get("auth"), dict) else {}
        token = auth.get("application_token") if isinstance(auth, dict) else None
        if not token:
            raise ApiError(401, "missing_token", "auth[application_token] is required")
        if not secrets.compare_digest(str(token).encode(), expected.encode()):
            raise ApiError(403, "bad_token", "auth[application_token] does not match")
        event = form.get("event")
        event = event.upper() if isinstance(event, str) else ""
        data = form.get("data") if isinstance(form.get("data"), dict) else {}
        fields = data.get("FIELDS") if isinstance(data, dict) and isinstance(data.get("FIELDS"), dict) else data
        entity_id = fields.get("ID") if isinstance(fields, dict) else None
        if not isinstance(entity_id, str) or not (entity_id.isascii() and entity_id.isdecimal()):
            entity_id = ""
        if not event or not entity_id or len(entity_id) > 18:
            raise ApiError(400, "malformed_body", "event and data[FIELDS][ID] (or data[ID]) are required")
        wanted = event == "ONCRMDEALDELETE" or (
            services.config.lifecycle is not None
            and (event in HANDLED or (event in BOOKING_EVENTS and services.config.booking is not None))
        )
        if not wanted:
            counter.labels(tenant, "bitrix", "ignored").inc()
            return JSONResponse({"ok": True, "status": "ignored", "reason": f"{event} not handled"})
        identity = f"{event}:{entity_id}:{form.get('ts', '')}"
        outcome = await queued(
            runtime.intake.enqueue(
                keys.dedupe(tenant, "bitrix", identity),
                f"b24:{tenant}:{identity}",
                HANDLE_BITRIX_EVENT,
                (tenant, event, int(entity_id)),
            )
        )
    counter.labels(tenant, "bitrix", outcome.value).inc()
    return JSONResponse({"ok": True, "status": outcome.value})
