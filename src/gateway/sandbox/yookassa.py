"""A stand-in for YooKassa's payments API, for trying deposits without a shop: `POST /v3/payments` (HTTP
Basic, `Idempotence-Key`: the same key gives the same payment), `GET /v3/payments/{id}`, and the page a
client's payment link opens, `/pay/{id}`, with «Оплатить» and «Отказаться». Paying or declining sends
YooKassa's notification (`payment.succeeded`, `payment.canceled`) to the URL set for the shop.

Mounted by `lead-gateway run` at /sandbox/yookassa when a tenant's `payments.api_base` points there.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

logger = logging.getLogger("gateway.sandbox.yookassa")

Notify = Callable[[dict[str, Any]], Awaitable[None]]


def _error(status: int, code: str, description: str) -> JSONResponse:
    body = {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description}
    return JSONResponse(body, status_code=status)


class YooKassaSandbox:
    def __init__(self, public_base: str = "", notify: Notify | None = None) -> None:
        self.payments: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.requests: list[dict[str, Any]] = []  # every create request's body, as sent
        self.public_base = public_base.rstrip("/")  # where the pay page is reached: .../sandbox/yookassa
        self.notify = notify
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/v3/payments", self._create, methods=["POST"]),
                Route("/v3/payments/{payment_id}", self._get, methods=["GET"]),
                Route("/pay/{payment_id}", self._page, methods=["GET"]),
                Route("/pay/{payment_id}", self._answer, methods=["POST"]),
                Route("/payments", self._list, methods=["GET"]),
            ]
        )

    async def _create(self, request: Request) -> Response:
        if not request.headers.get("authorization", "").startswith("Basic "):
            return _error(401, "invalid_credentials", "Authentication by given credentials failed")
        key = request.headers.get("idempotence-key")
        if not key or len(key) > 64:
            return _error(400, "invalid_request", "Idempotence-Key header is required (at most 64 characters)")
        if key in self.by_key:
            return JSONResponse(self.payments[self.by_key[key]])
        try:
            body = json.loads(await request.body())
            value = str(body["amount"]["value"])
            return_url = str(body["confirmation"]["return_url"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request", "amount.value and confirmation.return_url are required")
        self.requests.append(body)
        payment_id = f"2f{next(self._ids):06d}-000f-5000-9000-{uuid.uuid4().hex[:12]}"
        payment = {
            "id": payment_id,
            "status": "pending",
            "paid": False,
            "amount": {"value": value, "currency": body["amount"].get("currency", "RUB")},
            "confirmation": {"type": "redirect", "confirmation_url": f"{self.public_base}/pay/{payment_id}"},
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "description": body.get("description", ""),
            "metadata": body.get("metadata") or {},
            "recipient": {"account_id": "sandbox", "gateway_id": "sandbox"},
            "refundable": False,
            "test": True,
            "return_url": return_url,
        }
        self.payments[payment_id] = payment
        self.by_key[key] = payment_id
        return JSONResponse(payment)

    async def _get(self, request: Request) -> Response:
        payment = self.payments.get(request.path_params["payment_id"])
        if payment is None:
            return _error(404, "not_found", "Payment doesn't exist or access denied")
        return JSONResponse(payment)

    async def _list(self, request: Request) -> Response:
        return JSONResponse({"type": "list", "items": list(self.payments.values())})

    async def _page(self, request: Request) -> Response:
        payment = self.payments.get(request.path_params["payment_id"])
        if payment is None:
            return HTMLResponse("<h1>Платёж не найден</h1>", status_code=404)
        amount = html.escape(payment["amount"]["value"])
        what = html.escape(str(payment.get("description", "")))
        state = {"pending": "ждёт оплаты", "succeeded": "оплачен", "canceled": "отменён"}.get(payment["status"], "")
        buttons = (
            '<form method="post"><button name="action" value="pay">Оплатить</button> '
            '<button name="action" value="decline">Отказаться</button></form>'
            if payment["status"] == "pending"
            else ""
        )
        page = (
            '<!doctype html><html lang="ru"><meta charset="utf-8"><title>ЮKassa (песочница)</title>'
            f'<body><h1>Оплата {amount} ₽</h1><p>{what}</p><p id="status">Статус: {state}</p>{buttons}'
            f'<p><a href="{html.escape(payment["return_url"])}">Вернуться</a></p></body></html>'
        )
        return HTMLResponse(page)

    async def _answer(self, request: Request) -> Response:
        payment_id = request.path_params["payment_id"]
        form = await request.form()
        done = await self.settle(payment_id, paid=form.get("action") == "pay")
        if done is None:
            return HTMLResponse("<h1>Платёж не найден</h1>", status_code=404)
        return await self._page(request)

    async def settle(self, payment_id: str, *, paid: bool) -> dict[str, Any] | None:
        """The client pays or declines: the payment's new state, and the shop's notification sent."""
        payment = self.payments.get(payment_id)
        if payment is None:
            return None
        if payment["status"] == "pending" and paid:
            captured = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            payment.update(status="succeeded", paid=True, captured_at=captured)
        elif payment["status"] == "pending":
            details = {"party": "yoo_money", "reason": "expired_on_confirmation"}
            payment.update(status="canceled", cancellation_details=details)
        notification = notification_of(payment)
        if self.notify is not None:
            try:
                await self.notify(notification)
            except Exception as exc:  # a failed notification is retried by YooKassa; the page still answers
                logger.warning("the sandbox's notification for %s failed: %s", payment_id, exc)
        return notification


def notification_of(payment: dict[str, Any]) -> dict[str, Any]:
    event = {"succeeded": "payment.succeeded", "canceled": "payment.canceled"}.get(payment["status"], "payment.waiting")
    return {"type": "notification", "event": event, "object": payment}
