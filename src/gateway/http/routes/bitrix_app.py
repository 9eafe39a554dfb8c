"""The gateway as a Bitrix24 local application: the install callback, the app's events (Open Line
connectors, deal changes) checked by the installation's application token, and the connector's settings
page. Like every webhook, an event is queued before the answer (Bitrix24 never sends it again)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bitrix.errors import BitrixRetryable
from bitrix.messageservice import provider_message
from bitrix.openlines import DIALOG_FINISH, MESSAGE_ADD, dialog_finished, manager_messages
from gateway.bootstrap import Runtime, TenantServices
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError
from gateway.http.routes.bitrix import (
    BOOKING_EVENTS,
    HANDLED,
    check_application_token,
    entity_id,
    queue_portal_event,
    read_form,
    wanted,
)
from gateway.http.webhooks import counting_refusals, queued, tenant_services
from gateway.store import keys
from gateway.store.job_format import APP_SETUP
from gateway.store.job_format import DIALOG_FINISH as FINISH_JOB
from gateway.store.queue import Outcome, queue_manager_reply, queue_provider_message

router = APIRouter()


def _app_tenant(runtime: Runtime, tenant: str) -> TenantServices:
    services = tenant_services(runtime, tenant)
    if services.app is None:
        raise ApiError(404, "channel_not_configured", f"tenant {tenant!r} has no bitrix.app")
    return services


async def _signed_form(runtime: Runtime, tenant: str, request: Request) -> tuple[TenantServices, dict[str, Any]]:
    """The app tenant and what Bitrix24 posted, once it carries the installation's application token."""
    services = _app_tenant(runtime, tenant)
    assert services.app is not None  # noqa: S101 - checked by _app_tenant
    form = await read_form(request, runtime)
    installation = await services.app.installations.load(tenant)
    check_application_token(form, installation.application_token if installation is not None else "")
    return services, form


def _auth(form: dict[str, Any]) -> dict[str, Any]:
    auth = form.get("auth")
    return auth if isinstance(auth, dict) else {}


def _any_queued(outcomes: list[Outcome]) -> str:
    return Outcome.QUEUED.value if Outcome.QUEUED in outcomes else Outcome.DUPLICATE.value


@router.post("/bitrix/{tenant}/app/install", summary="Bitrix24 local app: install callback")
async def install(tenant: str, request: Request) -> JSONResponse:
    from gateway.usecases.manager_chat.install import InstallRefused, accept

    runtime = runtime_of(request)
    with counting_refusals(runtime, tenant, "bitrix_app"):
        services = _app_tenant(runtime, tenant)
        assert services.app is not None  # noqa: S101 - checked by _app_tenant
        form = await read_form(request, runtime)
        try:
            installed = await accept(services.app, _auth(form))
        except InstallRefused as exc:
            raise ApiError(exc.status, exc.code, str(exc)) from None
        except BitrixRetryable:
            raise ApiError(503, "token_server_unavailable", "the token server did not answer; install again") from None
        now_ms = int(runtime.clock().timestamp() * 1000)
        await queued(
            runtime.intake.enqueue(
                keys.dedupe(tenant, "bitrix_app", f"setup:{now_ms}"), f"setup:{tenant}:{now_ms}", APP_SETUP, (tenant,)
            )
        )
    runtime.metrics.webhooks.labels(tenant, "bitrix_app", "installed").inc()
    return JSONResponse(
        {"ok": True, "status": "reinstalled" if installed.reinstalled else "installed", "portal": installed.domain}
    )


@router.post("/bitrix/{tenant}/app/events", summary="Bitrix24 local app: events")
async def events(tenant: str, request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    counter = runtime.metrics.webhooks
    with counting_refusals(runtime, tenant, "bitrix_app"):
        services, form = await _signed_form(runtime, tenant, request)
        event = str(form.get("event") or "").upper()
        raw = form.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        outcome = await _queue(runtime, services, tenant, event, data, str(form.get("ts", "")))
    counter.labels(tenant, "bitrix_app", outcome).inc()
    return JSONResponse({"ok": True, "status": outcome})


@router.post("/bitrix/{tenant}/app/sms", summary="Bitrix24 local app: a message sent through its provider")
async def provider(tenant: str, request: Request) -> JSONResponse:
    """A robot, a workflow or a card's "send SMS" sent a message through the app's provider: queued once
    by Bitrix24's message id, then sent to the client's messenger, or by SMS."""
    runtime = runtime_of(request)
    with counting_refusals(runtime, tenant, "bitrix_app"):
        _, form = await _signed_form(runtime, tenant, request)
        message = provider_message(form)
        if message is None:
            raise ApiError(400, "malformed_body", "message_id, message_to and message_body are required")
        outcome = await queued(queue_provider_message(runtime.intake, tenant, message.message_id, asdict(message)))
    runtime.metrics.webhooks.labels(tenant, "bitrix_app", outcome.value).inc()
    return JSONResponse({"ok": True, "status": outcome.value})


async def _queue(
    runtime: Runtime, services: TenantServices, tenant: str, event: str, data: dict[str, Any], ts: str
) -> str:
    if event == MESSAGE_ADD:
        found = manager_messages(data)
        if not found:
            raise ApiError(400, "malformed_body", "data[MESSAGES] holds no message with its ids")
        return _any_queued(
            [await queued(queue_manager_reply(runtime.intake, tenant, m.message_id, asdict(m))) for m in found]
        )
    if event == DIALOG_FINISH:
        closed = dialog_finished(data)
        if not closed:
            raise ApiError(400, "malformed_body", "data[DATA][0][chat][id] or [connector][chat_id] is required")
        outcomes = []
        for finished in closed:
            identity = f"finish:{finished.im_chat_id or finished.external}:{ts}"
            seen = keys.dedupe(tenant, "bitrix_app", identity)
            job = runtime.intake.enqueue(seen, f"fin:{tenant}:{identity}", FINISH_JOB, (tenant, asdict(finished)))
            outcomes.append(await queued(job))
        return _any_queued(outcomes)
    if event in HANDLED or event in BOOKING_EVENTS:
        entity = entity_id(data)
        if not entity:
            raise ApiError(400, "malformed_body", "data[FIELDS][ID] is required")
        if not wanted(services, event):
            return "ignored"
        return (await queue_portal_event(runtime, tenant, event, entity, ts)).value
    return "ignored"


@router.api_route("/bitrix/{tenant}/app/placement", methods=["GET", "POST"], summary="the connector's settings page")
async def placement(tenant: str, request: Request) -> HTMLResponse:
    runtime = runtime_of(request)
    services = _app_tenant(runtime, tenant)
    assert services.app is not None  # noqa: S101 - checked by _app_tenant
    try:
        line = await services.app.line()
    except BitrixRetryable:
        return HTMLResponse("<!doctype html><meta charset=utf-8><p>lead-gateway: приложение ещё не установлено.</p>")
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>lead-gateway</title>"
        f"<p>lead-gateway подключён к открытой линии {line}. Настройки каналов задаются в конфигурации шлюза.</p>"
    )
