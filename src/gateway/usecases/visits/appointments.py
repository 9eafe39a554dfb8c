"""Book, move, confirm and cancel visits, and keep each visit's reminder agenda in step with it.

The business store holds the visits; Redis only serialises the bookings of one tenant, so two clients
picking the same last slot cannot both get it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bitrix.errors import BitrixRequestError
from domain import (
    Address,
    Visit,
    VisitStatus,
    free_slots,
    parse_duration,
    reminder_moments,
    resource_slots,
    send_moment,
)
from domain.recommendations import best_for
from gateway.settings import TenantConfig
from gateway.settings.lifecycle import LifecycleConfig
from gateway.store import keys
from gateway.store.conversations import TimelineEntry, append_timeline
from gateway.store.facts import Kind
from gateway.store.sql import agenda, waitlist
from gateway.store.sql import visits as store
from gateway.usecases.analytics import fact_log
from gateway.usecases.analytics.recommendations import pairs_of
from gateway.usecases.experiments.book import ExperimentBook
from gateway.usecases.visits.offer_plan import CONFIRMATION, after_quiet, offers_on_status, upsell_before, upsell_kind
from gateway.usecases.visits.online_booking import OnlineBooking

logger = logging.getLogger("gateway.usecases.visits.appointments")

BOOKING_LOCK_SECONDS = 10
RESOURCE_TAKEN = "1018"  # booking.v1.booking.add: "Empty resource collection" (unavailable for the period)
# Messages the bot starts about a visit besides the reminders, planned on the same agenda.
NOTICE_BOOKED, NOTICE_MOVED, NOTICE_CANCELLED = "booked", "moved", "cancelled"
STATUS_FACTS = {
    VisitStatus.CONFIRMED: Kind.CONFIRMED,
    VisitStatus.VISITED: Kind.VISIT,
    VisitStatus.NO_SHOW: Kind.NO_SHOW,
    VisitStatus.CANCELLED: Kind.CANCELLATION,
}


@dataclass(frozen=True)
class Appointments:
    engine: AsyncEngine
    redis: Redis
    tenant_id: str
    portal: str
    tenant: TenantConfig
    lifecycle: LifecycleConfig
    online: OnlineBooking | None = None  # with `booking:`: slots and bookings of the portal's resources
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    experiments: ExperimentBook | None = None  # with `experiments:`: the person's timing and discount

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tenant.tz)

    async def offer(
        self,
        wished: datetime,
        duration: timedelta,
        now: datetime,
        *,
        besides: int | None = None,
        services: Sequence[str] = (),
        count: int = 3,
    ) -> list[datetime]:
        """Up to `count` free starts nearest to `wished`, in the tenant's zone."""
        wished = self.local(wished)
        if self.online is not None:
            found = await self._resource_slots(wished, duration, now, services, besides, count=count)
            return [start for start, _ in found]
        span = timedelta(days=8)
        busy = await store.busy_between(self.engine, self.tenant_id, wished - span, wished + span, besides=besides)
        lead = parse_duration(self.lifecycle.min_lead)
        week = self.tenant.opening_hours()
        return free_slots(wished, duration, now, week, busy, self.tenant.capacity, count=count, min_lead=lead)

    async def _resource_slots(
        self,
        wished: datetime,
        duration: timedelta,
        now: datetime,
        services: Sequence[str],
        besides: int | None,
        count: int = 3,
    ) -> list[tuple[datetime, int]]:
        """(start, resource) nearest to `wished` from the resources' slot schedules, minus the portal's
        bookings and our visits whose booking is not in the portal yet; `besides` (a visit being moved)
        does not count against itself."""
        assert self.online is not None and self.tenant.booking is not None  # noqa: S101 - with `booking:`
        resources = self.tenant.booking.serving(list(services))
        span = timedelta(days=8)
        schedules = await self.online.schedules(resources)
        busy = await self.online.busy(wished - span, wished + span)
        window = (wished - span, wished + span)
        for resource, pending in (await store.pending_by_resource(self.engine, self.tenant_id, *window)).items():
            busy.setdefault(resource, []).extend(pending)
        moved = await store.visit_by_id(self.engine, besides) if besides is not None else None
        if moved is not None and moved.resource_id is not None:  # the visit being moved frees its own time
            own = {moved.start_at, moved.booking_start}
            busy[moved.resource_id] = [b for b in busy.get(moved.resource_id, []) if b.start not in own]
        lead = parse_duration(self.lifecycle.min_lead)
        return resource_slots(wished, duration, now, schedules, busy, count=count, min_lead=lead)

    async def book(
        self,
        *,
        conversation: str,
        to: Address,
        deal_id: int | None,
        start: datetime,
        duration: timedelta,
        services: Sequence[str],
        now: datetime,
        moving: int | None = None,
        phone: str | None = None,
        discount_percent: int | None = None,
        recovered_from: int | None = None,
    ) -> Visit | None:
        """Book (or move `moving` to) `start`; None when the slot filled up meanwhile."""
        before = await store.visit_by_id(self.engine, moving) if moving is not None else None
        async with self.redis.lock(
            keys.booking_lock(self.tenant_id), timeout=BOOKING_LOCK_SECONDS, blocking_timeout=BOOKING_LOCK_SECONDS
        ):
            resource = None
            if self.online is not None:  # the resource free at that start, by the portal's own bookings
                free = await self._resource_slots(start, duration, now, services, moving, count=200)
                resource = next((r for s, r in free if s == start), None)
                if resource is None:
                    return None
            visit = await store.book_visit(
                self.engine,
                tenant=self.tenant_id,
                portal=self.portal,
                conversation=conversation,
                to=to,
                deal_id=deal_id,
                start_at=start,
                end_at=start + duration,
                services=services,
                capacity=self.tenant.capacity,
                now=now,
                moving=moving,
                resource_id=resource,
                phone=phone,
                discount_percent=discount_percent,
                recovered_from=recovered_from,
            )
        if visit is not None:
            await self.plan(visit, now)
            if before is not None and before.start_at != visit.start_at:
                await self.freed(before, now)
            if moving is None:
                kinds = [Kind.BOOKING] + ([Kind.RECOVERED] if recovered_from is not None else [])
                await fact_log.visit_facts(self.redis, visit, kinds, now)
        return visit

    async def sync_booking(self, visit: Visit, *, contact_id: int | None, deal_id: int | None, title: str) -> None:
        """Bring the portal's booking of the visit in line with it: made once the deal and contact exist
        (linked to both), moved, or deleted when the visit is cancelled."""
        if self.online is None or visit.resource_id is None:
            return
        booking_id = visit.booking_id
        if not visit.active:
            if booking_id is not None:
                await self.online.delete(booking_id)
                await store.set_booking(self.engine, visit.id, None, None)
            return
        moved = booking_id is not None and visit.booking_start != visit.start_at
        if moved and not await self.online.move(booking_id, visit.start_at, visit.end_at):  # type: ignore[arg-type]
            booking_id = None  # deleted in the portal meanwhile: made again below
        if booking_id is None:
            if contact_id is None or deal_id is None:
                return  # the CRM sync makes the deal and contact first
            booking_id = await self.online.find(visit.resource_id, visit.start_at, visit.end_at, contact_id)
        if booking_id is None and visit.booking_start == visit.start_at:
            return  # the portal refused this time before: a manager sees the note on the deal
        if booking_id is None:
            assert contact_id is not None and deal_id is not None  # noqa: S101 - checked above
            try:
                booking_id = await self.online.add(
                    resource=visit.resource_id,
                    start=visit.start_at,
                    end=visit.end_at,
                    name=title,
                    contact_id=contact_id,
                    deal_id=deal_id,
                )
            except BitrixRequestError as exc:
                if exc.code != RESOURCE_TAKEN:
                    raise
                await store.set_booking(self.engine, visit.id, None, visit.start_at)
                when = self.local(visit.start_at)
                note = f"Бронь на {when:%d.%m %H:%M} не создана: ресурс в это время занят в портале. Проверьте запись"
                entry = TimelineEntry(key=f"booking:{visit.id}", text=note, at=self.local(self.clock()), author="Бот")
                await append_timeline(self.redis, visit.conversation, entry)
                logger.warning("visit %s: the portal refused its booking: %s", visit.id, exc)
                return
        if (booking_id, visit.start_at) != (visit.booking_id, visit.booking_start):
            await store.set_booking(self.engine, visit.id, booking_id, visit.start_at)

    async def set_status(self, visit: Visit, status: VisitStatus, now: datetime) -> None:
        """The visit's new state, and what it starts or ends on its agenda: nothing more about a visit that
        is over; the rebooking offer after a no-show, the retention chain after a visit, the upsell at
        confirmation (each goes only with the client's yes, checked when it is due)."""
        await store.set_status(self.engine, visit.id, status.value, now)
        if status == VisitStatus.CANCELLED and visit.active:
            await self.freed(visit, now)
        if status in (VisitStatus.CANCELLED, VisitStatus.VISITED, VisitStatus.NO_SHOW):
            await agenda.clear_agenda(self.engine, visit.id)
        await self.status_changed(visit, status, now)

    async def status_changed(self, visit: Visit, status: VisitStatus, now: datetime) -> None:
        """What a status the visit just got starts, however it got it (a button, a stage, a stage and a new
        time at once): its fact for the numbers, and the offers it opens."""
        if status in STATUS_FACTS:  # read again: the revenue and manager were just written
            fresh = await store.visit_by_id(self.engine, visit.id) or visit
            await fact_log.visit_facts(self.redis, fresh, [STATUS_FACTS[status]], now)
        offers = offers_on_status(self.tenant, self.lifecycle, status, visit.services, self.local(now))
        if status == VisitStatus.CONFIRMED:
            offers += await self._mined_upsell(visit, now)
        if offers:
            await agenda.add_to_agenda(self.engine, visit.id, offers)

    async def plan(self, visit: Visit, now: datetime, notice: str | None = None) -> None:
        """The visit's agenda anew: its reminders still ahead, and a notice to send now (quiet hours
        allowing). A reminder whose moment had passed when the visit was booked is not planned."""
        if not visit.active and notice != NOTICE_CANCELLED:
            await agenda.plan_reminders(self.engine, visit.id, [])
            return
        start = self.local(visit.start_at)
        quiet = self.lifecycle.quiet()
        offsets = self.lifecycle.offsets()
        if self.experiments is not None and visit.active:
            offsets = await self.experiments.offsets(offsets, await self.experiments.people(visit), now)
        moments = reminder_moments(start, offsets, self.local(now), quiet) if visit.active else []
        if visit.active:
            moments += upsell_before(self.lifecycle, visit.services, start, self.local(now))
        if notice == NOTICE_BOOKED:  # a visit a manager booked
            await fact_log.visit_facts(self.redis, visit, [Kind.BOOKING], now)
        if notice is not None:
            moment = send_moment(self.local(now), start, quiet) if visit.active else self._after_quiet(now)
            moments.append((notice, max(moment, now)))
        await agenda.plan_reminders(self.engine, visit.id, moments)

    async def _mined_upsell(self, visit: Visit, now: datetime) -> list[tuple[str, datetime]]:
        """`upsell: auto`: the strongest mined pair for the visit, offered at its confirmation like a listed
        rule, where no listed rule offers anything for its services (listed rules win)."""
        if not self.lifecycle.upsell_auto or any(r.service in visit.services for r in self.lifecycle.upsell):
            return []
        best = best_for(await pairs_of(self.redis, self.tenant_id), visit.services)
        if best is None or best.offer not in {item.id for item in self.tenant.catalog}:
            return []
        return [(upsell_kind(best.offer, CONFIRMATION), after_quiet(self.local(now), self.lifecycle.quiet()))]

    async def freed(self, visit: Visit, now: datetime) -> None:
        """A visit left its time (cancelled or moved): with a waitlist, that start is offered to those waiting."""
        if self.lifecycle.waitlist is not None and visit.start_at > now:
            await waitlist.free(self.engine, self.tenant_id, self.portal, visit.start_at, visit.end_at, now)

    def _after_quiet(self, now: datetime) -> datetime:
        quiet = self.lifecycle.quiet()
        local = self.local(now)
        return quiet.end_after(local) if quiet is not None and quiet.contains(local) else now


def visit_when_label(start: datetime) -> str:
    """The visit's time for people and the timeline: 01.12.2026 15:00."""
    return f"{start:%d.%m.%Y %H:%M}"
