"""The YooKassa client against YooKassa's HTTP boundary (respx): what a payment request carries, and how
each kind of answer comes back (a payment, none, try again, refused for good)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx

from domain.payments import PaymentError, PaymentRequest, PaymentRetryable, PaymentStatus, kopecks_of, rubles
from payments.yookassa import YooKassa

BASE = "https://api.yookassa.ru/v3"
# a payment as YooKassa's documentation shows one, just made
PENDING = {
    "id": "22e12f66-000f-5000-8000-18db351245c7",
    "status": "pending",
    "paid": False,
    "amount": {"value": "500.00", "currency": "RUB"},
    "confirmation": {
        "type": "redirect",
        "confirmation_url": "https://yoomoney.ru/api-pages/v2/payment-confirm/epl?orderId=22e12f66-000f-5000-8000-18db351245c7",
    },
    "created_at": "2026-12-05T09:10:00.000Z",
    "description": "Предоплата: Маникюр, 06.12.2026 15:00",
    "metadata": {"tenant": "salon", "visit": "17"},
    "recipient": {"account_id": "100001", "gateway_id": "1000001"},
    "refundable": False,
    "test": True,
}
REQUEST = PaymentRequest(
    key="lg-deposit-salon-17",
    kopecks=50000,
    description="Предоплата: Маникюр, 06.12.2026 15:00",
    return_url="https://salon.example/",
    metadata={"tenant": "salon", "visit": "17"},
    receipt_item="Предоплата за услугу: Маникюр",
    customer_phone="79131234567",
)


def client(http: httpx.AsyncClient) -> YooKassa:
    return YooKassa(http, "100001", "test_secret", BASE)


@respx.mock
async def test_a_payment_is_made_with_its_key_basic_auth_capture_and_a_54_fz_receipt():
    route = respx.post(f"{BASE}/payments").mock(return_value=httpx.Response(200, json=PENDING))
    async with httpx.AsyncClient() as http:
        payment = await client(http).create(REQUEST)
    assert payment.id == PENDING["id"] and payment.status == PaymentStatus.PENDING and payment.kopecks == 50000
    assert payment.confirmation_url == PENDING["confirmation"]["confirmation_url"]  # type: ignore[index]
    sent = route.calls.last.request
    assert sent.headers["Idempotence-Key"] == "lg-deposit-salon-17"
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"100001:test_secret").decode()
    body = json.loads(sent.content)
    assert body["capture"] is True and body["amount"] == {"value": "500.00", "currency": "RUB"}
    assert body["confirmation"] == {"type": "redirect", "return_url": "https://salon.example/"}
    receipt = body["receipt"]
    assert receipt["customer"] == {"phone": "79131234567"}
    assert receipt["items"] == [
        {
            "description": "Предоплата за услугу: Маникюр",
            "quantity": "1.00",
            "amount": {"value": "500.00", "currency": "RUB"},
            "vat_code": 1,
            "payment_mode": "partial_prepayment",
            "payment_subject": "service",
        }
    ]


@respx.mock
async def test_answers_come_back_as_a_payment_none_retry_or_refusal():
    respx.get(f"{BASE}/payments/{PENDING['id']}").mock(
        return_value=httpx.Response(200, json={**PENDING, "status": "succeeded", "paid": True})
    )
    respx.get(f"{BASE}/payments/2f000000-0000-0000-0000-000000000000").mock(
        return_value=httpx.Response(404, json={"type": "error", "code": "not_found"})
    )
    async with httpx.AsyncClient() as http:
        kassa = client(http)
        paid = await kassa.get(PENDING["id"])  # type: ignore[arg-type]
        assert paid is not None and paid.paid and paid.metadata == {"tenant": "salon", "visit": "17"}
        assert await kassa.get("2f000000-0000-0000-0000-000000000000") is None
        assert await kassa.get("../../me") is None  # never sent on: not an id YooKassa gives
        for status, error in (
            (500, PaymentRetryable),
            (429, PaymentRetryable),
            (401, PaymentError),
            (400, PaymentError),
        ):
            respx.post(f"{BASE}/payments").mock(
                return_value=httpx.Response(status, json={"type": "error", "code": "x", "description": "y"})
            )
            with pytest.raises(error):
                await kassa.create(REQUEST)
        respx.post(f"{BASE}/payments").mock(side_effect=httpx.ConnectTimeout("slow"))
        with pytest.raises(PaymentRetryable):
            await kassa.create(REQUEST)


def test_amounts_are_written_and_read_in_kopecks():
    assert rubles(50000) == "500.00" and rubles(12345) == "123.45" and rubles(5) == "0.05"
    assert kopecks_of("500.00") == 50000 and kopecks_of("500") == 50000 and kopecks_of("0.5") == 50
    for bad in ("", "-1.00", "1.234", "1e3", "abc"):
        with pytest.raises(ValueError):
            kopecks_of(bad)
