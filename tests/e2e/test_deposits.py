"""Deposits end to end: a new client's booking is held with a YooKassa payment link (the stand-in on
loopback, as `make run` has it); paid, the notification is read back and the client is booked; unpaid, the
hold ends, the slot is free and the client told. Forged, foreign and replayed notifications change
nothing. Telegram webhook -> Redis -> worker -> the sandbox portal, YooKassa's stand-in and the business
store (SQLite and PostgreSQL), on a clock the test moves."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from gateway.sandbox.yookassa import YooKassaSandbox, notification_of
from gateway.store.sql import deposits
from tests.conftest import LoopbackServer, gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import (
    CHAT,
    HEADERS,
    OTHER_CHAT,
    Clock,
    book,
    lifecycle_config,
    press,
    sent,
    store_of,
    visit_day,
)
from tests.e2e.test_bring_back import texts_with, visit_of
from tests.e2e.test_owner_numbers import OWNER, PASSWORD

SHOP, KEY = "123456", "test_sandbox-key"
DEPOSIT = {"amount": 500, "for": ["new_client"], "hold": "30m"}


@pytest.fixture
def yookassa() -> Iterator[tuple[YooKassaSandbox, str]]:
    sandbox = YooKassaSandbox()
    with LoopbackServer(sandbox.app) as server:
        sandbox.public_base = f"{server.base}"
        yield sandbox, server.base


def deposit_config(make_config: Any, portal: Any, telegram: Any, base: str) -> Any:
    payments = {"shop_id": SHOP, "secret_key": KEY, "api_base": f"{base}/v3", "return_url": "https://salon.example/"}
    lifecycle = {"deposit": DEPOSIT}
    extra = {"payments": payments, "dashboard": {"password": PASSWORD}}
    return lifecycle_config(make_config, portal, telegram, lifecycle=lifecycle, **extra)


async def notify(client: Any, body: dict[str, Any]) -> Any:
    return await client.post("/payments/salon/yookassa", json=body)


def deal_notes(portal: Any, fragment: str) -> list[str]:
    return [c["COMMENT"] for c in portal.state.comments.values() if fragment in c["COMMENT"]]


async def test_a_new_clients_booking_is_held_with_a_link_and_booked_once_paid_read_back(
    make_config, portal, telegram, store_url, yookassa
):
    sandbox, base = yookassa
    clock = Clock()
    config = deposit_config(make_config, portal, telegram, base)
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        slot = await book(client, telegram, visit_day(), chat=CHAT, first_id=1)
        asked = sent(telegram, CHAT)[1]["text"]
        assert "предоплату 500 ₽" in asked and "держим за вами до" in asked, asked
        (payment_id,) = sandbox.payments
        assert sandbox.payments[payment_id]["confirmation"]["confirmation_url"] in asked
        (request,) = sandbox.requests
        assert request["capture"] is True and request["amount"] == {"value": "500.00", "currency": "RUB"}
        assert request["receipt"]["customer"] == {"phone": "79131234567"}
        (item,) = request["receipt"]["items"]
        assert item["payment_subject"] == "service" and item["payment_mode"] == "partial_prepayment"
        assert request["metadata"]["tenant"] == "salon" and request["confirmation"]["type"] == "redirect"
        visit = await wait_for_async(lambda: visit_of(runtime, CHAT))

        # the same press again (a retry, a double tap): the same payment, not a second one
        await client.post("/webhooks/salon/telegram", json=press(3, slot, CHAT), headers=HEADERS)
        await wait_for(lambda: len(sent(telegram, CHAT)) == 3)
        assert len(sandbox.payments) == 1 and payment_id in sent(telegram, CHAT)[2]["text"]
        (key,) = sandbox.by_key  # one key a visit, within YooKassa's 64 characters
        assert key.startswith("lg-deposit-") and len(key) <= 64

        # a forged notification (the payment still pending at YooKassa) and an unknown payment: nothing
        forged = notification_of({**sandbox.payments[payment_id], "status": "succeeded", "paid": True})
        assert (await notify(client, forged)).json()["status"] == "queued"
        unknown = notification_of({**forged["object"], "id": "2f000999-000f-5000-9000-000000000000"})
        assert (await notify(client, unknown)).json()["status"] == "queued"
        await _settled_jobs(runtime, 2)
        assert (await _deposit(runtime, visit.id)).status == deposits.HELD
        assert not texts_with(telegram, "Предоплата получена", CHAT)

        # she pays on YooKassa's page: the notification is read back, she is booked, the deal notes it
        paid = await sandbox.settle(payment_id, paid=True)
        assert (await notify(client, paid)).json()["status"] == "queued"
        await wait_for(lambda: len(texts_with(telegram, "Предоплата получена", CHAT)) == 1)
        assert (await _deposit(runtime, visit.id)).status == deposits.PAID
        await wait_for(lambda: len(deal_notes(portal, "Предоплата 500 ₽ получена")) == 1)
        assert (await notify(client, paid)).json()["status"] == "duplicate"  # YooKassa's repeat

        # the hold's end finds it paid: nothing is released
        clock.move_to(clock() + timedelta(minutes=31))
        await wait_for_async(lambda: _hold_ended(runtime, visit.id, "stale"))
        assert (await visit_of(runtime, CHAT)).status == "booked"
        assert not texts_with(telegram, "бронь на", CHAT)

        async def counted() -> Any:
            response = await client.get("/api/salon/analytics", headers=OWNER)
            total = response.json()["total"]
            return total if total["deposits_paid"] == 1 else None

        await wait_for_async(counted, limit=20)


async def test_an_unpaid_hold_frees_the_slot_and_a_late_payment_is_left_to_a_manager(
    make_config, portal, telegram, store_url, yookassa
):
    sandbox, base = yookassa
    clock = Clock()
    config = deposit_config(make_config, portal, telegram, base)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        await book(client, telegram, day, chat=CHAT, first_id=1)
        visit = await wait_for_async(lambda: visit_of(runtime, CHAT))
        (payment_id,) = sandbox.payments
        clock.move_to(clock() + timedelta(minutes=30, seconds=5))
        await wait_for(lambda: len(texts_with(telegram, "бронь на", CHAT)) == 1)
        assert "Предоплата не пришла" in texts_with(telegram, "бронь на", CHAT)[0]["text"]
        assert (await _visit(runtime, visit.id)).status == "cancelled"
        await wait_for(lambda: len(deal_notes(portal, "Предоплата не поступила")) == 1)

        # the slot is free again: another client is offered it and gets it
        await book(client, telegram, day, chat=OTHER_CHAT, first_id=100)
        assert "предоплату 500 ₽" in sent(telegram, OTHER_CHAT)[1]["text"]

        # her payment comes after all: no slot is taken from anyone; a manager is asked to sort it out
        late = await sandbox.settle(payment_id, paid=True)
        await notify(client, late)
        await wait_for(lambda: len(texts_with(telegram, "Администратор свяжется", CHAT)) == 1)
        await wait_for(lambda: len(deal_notes(portal, "пришла после снятия брони")) == 1)
        assert (await _deposit(runtime, visit.id)).status == deposits.PAID_LATE
        assert (await _visit(runtime, visit.id)).status == "cancelled"


async def test_a_payment_for_a_visit_cancelled_meanwhile_books_nothing_and_goes_to_a_manager(
    make_config, portal, telegram, store_url, yookassa
):
    sandbox, base = yookassa
    config = deposit_config(make_config, portal, telegram, base)
    async with gateway(config, store_url=store_url, clock=Clock()) as (client, runtime):
        await book(client, telegram, visit_day(), chat=CHAT, first_id=1)
        visit = await wait_for_async(lambda: visit_of(runtime, CHAT))
        await client.post("/webhooks/salon/telegram", json=press(5, f"v:x:{visit.id}", CHAT), headers=HEADERS)
        await wait_for(lambda: len(texts_with(telegram, "отменена", CHAT)) == 1)
        (payment_id,) = sandbox.payments
        await notify(client, await sandbox.settle(payment_id, paid=True))
        await wait_for(lambda: len(texts_with(telegram, "Администратор свяжется", CHAT)) == 1)
        assert (await _deposit(runtime, visit.id)).status == deposits.PAID_LATE
        assert not texts_with(telegram, "Предоплата получена", CHAT)
        assert (await _visit(runtime, visit.id)).status == "cancelled"


async def test_the_notification_route_refuses_what_is_not_a_notification(
    make_config, portal, telegram, store_url, yookassa
):
    _, base = yookassa
    config = deposit_config(make_config, portal, telegram, base)
    async with gateway(config, store_url=store_url, clock=Clock()) as (client, _runtime):
        assert (await client.post("/payments/nobody/yookassa", json={})).status_code == 404
        for body in (b"{", b"[]", b'{"type": "notification", "event": "payment.succeeded"}'):
            response = await client.post("/payments/salon/yookassa", content=body)
            assert response.status_code == 400 and response.json()["error"] == "malformed_body", body
        refund = {"type": "notification", "event": "refund.succeeded", "object": {"id": "r1"}}
        assert (await notify(client, refund)).json()["status"] == "ignored"


def test_the_yookassa_stand_in_wants_basic_auth_and_an_idempotence_key(yookassa):
    import httpx

    _, base = yookassa
    body = {"amount": {"value": "1.00", "currency": "RUB"}, "confirmation": {"type": "redirect", "return_url": "x"}}
    auth = {"Authorization": "Basic " + base64.b64encode(f"{SHOP}:{KEY}".encode()).decode()}
    assert httpx.post(f"{base}/v3/payments", json=body).status_code == 401
    assert httpx.post(f"{base}/v3/payments", json=body, headers=auth).status_code == 400
    first = httpx.post(f"{base}/v3/payments", json=body, headers={**auth, "Idempotence-Key": "k1"}).json()
    again = httpx.post(f"{base}/v3/payments", json=body, headers={**auth, "Idempotence-Key": "k1"}).json()
    assert first["id"] == again["id"] and first["status"] == "pending"
    page = httpx.get(first["confirmation"]["confirmation_url"])
    assert page.status_code == 200 and "Оплатить" in page.text
    assert httpx.get(f"{base}/v3/payments/nope").status_code == 404


async def _settled_jobs(runtime: Any, count: int) -> None:
    """Wait until `count` payment jobs have run (their results are kept by arq)."""

    async def done() -> bool:
        found = [key async for key in runtime.redis.scan_iter(match="arq:result:pay:*")]
        return len(found) >= count

    await wait_for_async(done)


async def _deposit(runtime: Any, visit_id: int) -> Any:
    return await deposits.deposit_of(store_of(runtime), visit_id)


async def _visit(runtime: Any, visit_id: int) -> Any:
    from gateway.store.sql.visits import visit_by_id

    return await visit_by_id(store_of(runtime), visit_id)


async def _hold_ended(runtime: Any, visit_id: int, outcome: str) -> bool:
    from gateway.store.sql.agenda import reminder_outcomes

    return ("deposit:expiry", outcome) in await reminder_outcomes(store_of(runtime), visit_id)
