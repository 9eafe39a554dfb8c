"""Deposits for risky bookings: a booking by a client `lifecycle.deposit.for` names keeps its slot for
`hold` with a payment link; paid (the provider's notification, read back, or the payment read when the
hold ends), it stays booked and the deal notes the amount; not paid in time, the visit is cancelled, the
slot is free and the client told. What the bot says afterwards goes on the visit's agenda, so it leaves
through the one delivery path (quiet hours, stop, fallback)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from domain import Visit, VisitStatus, parse_duration
from domain.payments import Payment, PaymentError, PaymentProvider, PaymentRequest, PaymentRetryable, PaymentStatus
from gateway.settings.lifecycle import DepositConfig
from gateway.store import facts
from gateway.store.conversations import TimelineEntry, append_timeline
from gateway.store.facts import Kind
from gateway.store.sql import agenda
from gateway.store.sql import deposits as store
from gateway.store.sql import visits as visits_store
from gateway.usecases.analytics import fact_log
from gateway.usecases.visits.appointments import Appointments

logger = logging.getLogger("gateway.usecases.visits.deposits")

# The agenda's deposit entries: the hold's end, and what the client is told
DEPOSIT_EXPIRY = "deposit:expiry"
DEPOSIT_PAID, DEPOSIT_RELEASED, DEPOSIT_LATE = "deposit:paid", "deposit:released", "deposit:late"
DEPOSIT_NOTICES = frozenset({DEPOSIT_PAID, DEPOSIT_RELEASED, DEPOSIT_LATE})

# Whose bookings need a deposit, from how the person's other visits ended: a new rule is one line here.
RULES: dict[str, Callable[[dict[str, int]], bool]] = {
    "new_client": lambda past: past.get(VisitStatus.VISITED, 0) == 0,
    "after_no_show": lambda past: past.get(VisitStatus.NO_SHOW, 0) > 0,
}


def deposit_key(tenant: str, portal: str, visit_id: int) -> str:
    """The payment's idempotence key: one per visit of this store, within the provider's 64 characters
    whatever the tenant's name (a cut key could drop the visit and make two visits one payment)."""
    digest = hashlib.sha256(f"{tenant}:{portal}:{visit_id}".encode()).hexdigest()[:40]
    return f"lg-deposit-{digest}"


@dataclass(frozen=True)
class Asked:
    """A deposit asked for: the link, the amount and until when the slot is kept (tenant-local)."""

    url: str
    rubles: int
    until: datetime


@dataclass(frozen=True)
class Deposits:
    appointments: Appointments
    provider: PaymentProvider
    config: DepositConfig
    return_url: str
    queue_crm_sync: Callable[[str], Awaitable[object]]  # conversation -> its CRM sync queued

    async def needed(self, visit: Visit) -> bool:
        app = self.appointments
        past = await store.past_statuses(app.engine, app.tenant_id, visit.phone, visit.conversation, visit.id)
        return any(RULES[rule](past) for rule in self.config.for_)

    async def ask(self, visit: Visit, service: str, price: int | None, now: datetime) -> Asked | None:
        """The payment made and the hold's end planned; None when the provider cannot make one (the booking
        then stands without a deposit and the deal says so)."""
        app = self.appointments
        kopecks = self.config.amount * 100
        await store.hold(app.engine, app.tenant_id, visit.id, kopecks, now + parse_duration(self.config.hold), now)
        kept = await store.deposit_of(app.engine, visit.id)  # asked again (a retried press): the first hold
        if kept is None or kept.status != store.HELD:
            return None
        until = kept.held_until
        when = app.local(visit.start_at)
        request = PaymentRequest(
            key=deposit_key(app.tenant_id, app.portal, visit.id),  # a retried press makes the same payment
            kopecks=kopecks,
            description=f"Предоплата: {service}, {when:%d.%m.%Y %H:%M}",
            return_url=self.return_url,
            metadata={"tenant": app.tenant_id, "visit": str(visit.id)},
            receipt_item=f"Предоплата за услугу: {service}",
            customer_phone=visit.phone.lstrip("+") if visit.phone else None,
            full_price=price is not None and self.config.amount >= price,
        )
        try:
            payment = await self.provider.create(request)
        except (PaymentError, PaymentRetryable) as exc:
            logger.warning("visit %s: no payment link: %s", visit.id, exc)
            await store.move(app.engine, visit.id, store.HELD, store.FAILED, now)
            note = f"Ссылку на предоплату создать не удалось ({exc}); запись без предоплаты"
            await self._note(visit, "deposit", note, now)
            return None
        if payment.confirmation_url is None:
            await store.move(app.engine, visit.id, store.HELD, store.FAILED, now)
            return None
        await store.set_payment(app.engine, visit.id, payment.id)
        await agenda.add_to_agenda(app.engine, visit.id, [(DEPOSIT_EXPIRY, until)])
        text = f"Ждём предоплату {self.config.amount} ₽ до {app.local(until):%d.%m %H:%M}; ссылка отправлена клиенту"
        await self._note(visit, "deposit", text, now)
        return Asked(payment.confirmation_url, self.config.amount, app.local(until))

    async def settle(self, payment_id: str, now: datetime) -> str:
        """The provider says a payment changed: read back from the provider (its notifications are not
        signed), and acted on only for a payment of this tenant's deposit."""
        app = self.appointments
        payment = await self.provider.get(payment_id)
        if payment is None:
            return "unknown_payment"
        deposit = await store.deposit_by_payment(app.engine, app.tenant_id, payment.id)
        if deposit is None or payment.metadata.get("tenant") != app.tenant_id:
            return "not_ours"
        if payment.paid:
            return await self._paid(deposit, payment, now)
        if payment.status == PaymentStatus.CANCELED:
            return await self._release(deposit, now)
        return "pending"

    async def expire(self, visit: Visit, now: datetime) -> str:
        """The hold's end: paid meanwhile (a notification may have been lost) or released."""
        deposit = await store.deposit_of(self.appointments.engine, visit.id)
        if deposit is None or deposit.status != store.HELD:
            return "stale"
        payment = await self.provider.get(deposit.payment_id) if deposit.payment_id else None
        if payment is not None and payment.paid:
            return await self._paid(deposit, payment, now)
        return await self._release(deposit, now)

    async def _paid(self, deposit: store.Deposit, payment: Payment, now: datetime) -> str:
        app = self.appointments
        visit = await visits_store.visit_by_id(app.engine, deposit.visit_id)
        if visit is None:
            return "gone"
        rubles = payment.kopecks // 100
        if not visit.active:  # cancelled meanwhile (by the client or a manager): no slot is kept for it
            await store.move(app.engine, visit.id, store.HELD, store.RELEASED, now)
        if visit.active and await store.move(app.engine, visit.id, store.HELD, store.PAID, now):
            await agenda.add_to_agenda(app.engine, visit.id, [(DEPOSIT_PAID, now)])
            text = f"Предоплата {rubles} ₽ получена (ЮKassa, платёж {payment.id})"
            await self._note(visit, "deposit-paid", text, now)
            fact = await fact_log.of_visit(app.redis, visit, Kind.DEPOSIT_PAID, now, key=f"deposit:{visit.id}")
            await facts.emit(app.redis, [replace(fact, amount=float(rubles))])
            return "paid"
        if await store.move(app.engine, visit.id, store.RELEASED, store.PAID_LATE, now):
            await agenda.add_to_agenda(app.engine, visit.id, [(DEPOSIT_LATE, now)])
            text = (
                f"Предоплата {rubles} ₽ пришла после снятия брони (платёж {payment.id}): "
                "подберите клиенту время или верните деньги"
            )
            await self._note(visit, "deposit-late", text, now)
            return "paid_late"
        return "settled_before"

    async def _release(self, deposit: store.Deposit, now: datetime) -> str:
        app = self.appointments
        if not await store.move(app.engine, deposit.visit_id, store.HELD, store.RELEASED, now):
            return "settled_before"
        visit = await visits_store.visit_by_id(app.engine, deposit.visit_id)
        if visit is None:
            return "gone"
        if not visit.active:
            return "cancelled_before"  # the client or a manager cancelled it: nothing more to say
        await app.set_status(visit, VisitStatus.CANCELLED, now)
        await agenda.add_to_agenda(app.engine, visit.id, [(DEPOSIT_RELEASED, now)])
        when = app.local(visit.start_at)
        await self._note(visit, "deposit-released", f"Предоплата не поступила: запись на {when:%d.%m %H:%M} снята", now)
        return "released"

    async def _note(self, visit: Visit, key: str, text: str, now: datetime) -> None:
        app = self.appointments
        entry = TimelineEntry(key=f"{key}:{visit.id}", text=text, at=app.local(now), author="Бот")
        await append_timeline(app.redis, visit.conversation, entry)
        await self.queue_crm_sync(visit.conversation)
