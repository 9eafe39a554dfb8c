"""For the owner and their tools: GET /dashboard/{tenant}, GET /api/{tenant}/analytics,
PUT /api/{tenant}/spend, GET /api/{tenant}/appointments, GET /api/{tenant}/experiments,
GET /api/{tenant}/utilisation, GET /api/{tenant}/recommendations. HTTP Basic: user
the tenant id, password `dashboard.password`; anything else is 401 with `WWW-Authenticate`."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.bootstrap import Runtime, TenantServices
from gateway.http.client_address import client_address
from gateway.http.dashboard_page import render
from gateway.http.deps import runtime_of
from gateway.http.errors import ApiError, read_body
from gateway.http.webhooks import tenant_services
from gateway.store import budgets

router = APIRouter()


def _credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


# Wrong passwords an address may try in a window before it is refused (429) until the window ends.
# Counted per address, so a guesser elsewhere never locks the owner out of their own network.
LOGIN_FAILURES_ALLOWED = 10
LOGIN_WINDOW_SECONDS = 15 * 60


async def authorized(request: Request, tenant: str) -> tuple[Runtime, TenantServices]:
    runtime = runtime_of(request)
    services = tenant_services(runtime, tenant)
    dashboard = services.config.dashboard
    if dashboard is None or runtime.store is None:
        raise ApiError(404, "dashboard_not_configured", "this tenant has no dashboard")
    address = client_address(request, runtime.config.trusted_proxies)
    if await budgets.login_failures(runtime.redis, tenant, address) >= LOGIN_FAILURES_ALLOWED:
        runtime.metrics.login_failures.labels(tenant, "refused").inc()
        wait = await budgets.retry_login_after(runtime.redis, tenant, address)
        raise ApiError(
            429, "too_many_attempts", "too many wrong passwords from this address", {"Retry-After": str(wait)}
        )
    given = _credentials(request)
    user_ok = given is not None and secrets.compare_digest(given[0].encode(), tenant.encode())
    password_ok = given is not None and secrets.compare_digest(given[1].encode(), dashboard.password.encode())
    if not (user_ok and password_ok):
        if given is not None:  # a browser's first request carries no password: that is not a guess
            runtime.metrics.login_failures.labels(tenant, "wrong").inc()
            await budgets.count_login_failure(runtime.redis, tenant, address, LOGIN_WINDOW_SECONDS)
        challenge = {"WWW-Authenticate": f'Basic realm="lead-gateway {tenant}", charset="UTF-8"'}
        raise ApiError(401, "unauthorized", "user is the tenant id, password the dashboard's", challenge)
    return runtime, services


def _today(runtime: Runtime, services: TenantServices) -> date:
    return runtime.clock().astimezone(services.config.tz).date()


def _period(request: Request, runtime: Runtime, services: TenantServices) -> Any:
    from gateway.usecases.analytics.reports import BadPeriod, Period

    try:
        return Period.parse(request.query_params.get("from"), request.query_params.get("to"), _today(runtime, services))
    except BadPeriod as exc:
        raise ApiError(400, "bad_request", str(exc)) from None


@router.get("/api/{tenant}/analytics", summary="The owner's numbers for a period, by a key")
async def analytics(tenant: str, request: Request) -> JSONResponse:
    from gateway.usecases.analytics.reports import BadPeriod
    from gateway.usecases.analytics.reports import analytics as numbers

    runtime, services = await authorized(request, tenant)
    period = _period(request, runtime, services)
    assert runtime.store is not None  # noqa: S101 - checked by authorized()
    try:
        body = await numbers(runtime.store, tenant, services.config, period, request.query_params.get("by", "channel"))
    except BadPeriod as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    return JSONResponse(body)


@router.get("/api/{tenant}/appointments", summary="The visits the gateway knows, with what was sent")
async def appointments(tenant: str, request: Request) -> JSONResponse:
    from gateway.usecases.analytics.reports import appointments as visits

    runtime, services = await authorized(request, tenant)
    period = _period(request, runtime, services)
    assert runtime.store is not None  # noqa: S101 - checked by authorized()
    return JSONResponse(await visits(runtime.store, tenant, services.config, period))


@router.get("/api/{tenant}/utilisation", summary="The masters' load: open, booked and free minutes")
async def utilisation(tenant: str, request: Request) -> JSONResponse:
    from gateway.usecases.analytics.utilisation import report

    runtime, services = await authorized(request, tenant)
    period = _period(request, runtime, services)
    assert runtime.store is not None  # noqa: S101 - checked by authorized()
    return JSONResponse(await report(runtime.store, tenant, services.config, period))


@router.get("/api/{tenant}/recommendations", summary="Service pairs mined from the visits")
async def recommendations(tenant: str, request: Request) -> JSONResponse:
    from gateway.usecases.analytics.recommendations import report

    runtime, services = await authorized(request, tenant)
    return JSONResponse(await report(runtime.redis, tenant, services.services_by_id()))


@router.get("/api/{tenant}/experiments", summary="Each experiment's variants, counts and verdict")
async def experiments(tenant: str, request: Request) -> JSONResponse:
    from gateway.settings.texts import Texts
    from gateway.usecases.experiments.results import report

    runtime, services = await authorized(request, tenant)
    assert runtime.store is not None  # noqa: S101 - checked by authorized()
    texts = Texts(**services.config.texts)
    return JSONResponse(await report(runtime.store, tenant, services.config.experiments, texts))


@router.put("/api/{tenant}/spend", summary="Ad spend per day and ad; a day sent again replaces it")
async def put_spend(tenant: str, request: Request) -> JSONResponse:
    from gateway.usecases.analytics.spend import BadSpend, parse_rows, save

    runtime, _ = await authorized(request, tenant)
    body = await read_body(request, runtime.config.max_body_bytes)
    try:
        rows = parse_rows(json.loads(body))
    except (ValueError, BadSpend) as exc:  # json.JSONDecodeError is a ValueError
        raise ApiError(400, "malformed_body", str(exc)[:300]) from None
    assert runtime.store is not None  # noqa: S101 - checked by authorized()
    days = await save(runtime.store, tenant, rows)
    return JSONResponse({"ok": True, "days": days, "rows": len(rows)})


@router.get("/dashboard/{tenant}", summary="The owner's dashboard", response_class=HTMLResponse)
async def dashboard(tenant: str, request: Request) -> HTMLResponse:
    runtime, services = await authorized(request, tenant)
    return HTMLResponse(render(tenant, _today(runtime, services)), headers={"Cache-Control": "no-store"})
