"""YooKassa's payments API (v3): a payment with a redirect link, captured at once, with a 54-FZ receipt;
a payment read back by its id. HTTP Basic with the shop id and the secret key, which never reaches a log."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from domain.payments import (
    Payment,
    PaymentError,
    PaymentRequest,
    PaymentRetryable,
    PaymentStatus,
    kopecks_of,
    rubles,
)

logger = logging.getLogger("payments.yookassa")

DEFAULT_BASE = "https://api.yookassa.ru/v3"
DESCRIPTION_LIMIT = 128  # the payment's and a receipt line's description
NO_VAT = 1  # vat_code 1: без НДС (a small salon on the simplified tax system)


class YooKassa:
    def __init__(
        self, http: httpx.AsyncClient, shop_id: str, secret_key: str, base: str = DEFAULT_BASE, vat_code: int = NO_VAT
    ) -> None:
        self._http = http
        self._auth = httpx.BasicAuth(shop_id, secret_key)
        self._base = base.rstrip("/")
        self._vat_code = vat_code

    async def create(self, request: PaymentRequest) -> Payment:
        amount = {"value": rubles(request.kopecks), "currency": "RUB"}
        body: dict[str, Any] = {
            "amount": amount,
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": request.return_url},
            "description": request.description[:DESCRIPTION_LIMIT],
            "metadata": request.metadata,
        }
        if request.customer_phone:
            body["receipt"] = {
                "customer": {"phone": request.customer_phone},
                "items": [
                    {
                        "description": request.receipt_item[:DESCRIPTION_LIMIT],
                        "quantity": "1.00",
                        "amount": amount,
                        "vat_code": self._vat_code,
                        # a deposit for a service still to be given: an advance payment under 54-FZ
                        "payment_mode": "full_prepayment" if request.full_price else "partial_prepayment",
                        "payment_subject": "service",
                    }
                ],
            }
        # the key makes a retried request (a timeout, a crash before the answer was kept) the same payment
        headers = {"Idempotence-Key": request.key[:64]}
        answer = await self._call("POST", "/payments", json=body, headers=headers)
        if answer is None:
            raise PaymentError("YooKassa answered 404 to a new payment")
        return answer

    async def get(self, payment_id: str) -> Payment | None:
        if not payment_id or not all(c.isalnum() or c == "-" for c in payment_id) or len(payment_id) > 64:
            return None  # not an id YooKassa gives: never sent on to its API
        return await self._call("GET", f"/payments/{payment_id}")

    async def _call(self, method: str, path: str, **kwargs: Any) -> Payment | None:
        try:
            response = await self._http.request(method, self._base + path, auth=self._auth, timeout=30, **kwargs)
        except httpx.HTTPError as exc:
            raise PaymentRetryable(f"YooKassa {method} {path}: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return None
        if response.status_code == 429 or response.status_code >= 500:
            raise PaymentRetryable(f"YooKassa {method} {path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise PaymentRetryable(f"YooKassa {method} {path}: HTTP {response.status_code}, not JSON") from None
        if response.status_code >= 400:
            code = data.get("code") if isinstance(data, dict) else None
            raise PaymentError(f"YooKassa {method} {path}: HTTP {response.status_code} {code}")
        return payment_of(data)


def payment_of(data: Any) -> Payment:
    """A payment object as YooKassa writes it (an answer, or a notification's `object`)."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise PaymentError("a payment object without its id")
    try:
        status = PaymentStatus(str(data.get("status")))
        kopecks = kopecks_of(str((data.get("amount") or {}).get("value", "")))
    except ValueError as exc:
        raise PaymentError(f"payment {data['id']}: {exc}") from None
    confirmation: dict[str, Any] = data["confirmation"] if isinstance(data.get("confirmation"), dict) else {}
    metadata: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    return Payment(
        id=data["id"],
        status=status,
        kopecks=kopecks,
        confirmation_url=confirmation.get("confirmation_url"),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )
