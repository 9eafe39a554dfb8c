"""Book, move, confirm and cancel visits, and keep each visit's reminder agenda in step with it.

The business store holds the visits; Redis only serialises the bookings of one tenant, so two clients
picking the same last slot cannot both get it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import VisitStatus, free_slots, parse_duration, reminder_moments, send_moment
from gateway.settings import TenantConfig
from gateway.settings.lifecycle import LifecycleConfig
from gateway.store import keys
from gateway.store.sql import visits as store
from gateway.store.sql.visits import Address, Visit

logger = logging.getLogger("gateway.usecases.appointments")

BOOKING_LOCK_SECONDS = 10
# Messages the bot starts about a visit besides the reminders, planned on the same agenda.
NOTICE_BOOKED, NOTICE_MOVED, NOTICE_CANCELLED = "booked", "moved", "cancelled"


@dataclass(frozen=True)
class Appointments:
    engine: AsyncEngine
    redis: Redis
    tenant_id: str
    portal: str
    tenant: TenantConfig
    lifecycle: LifecycleConfig

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tenant.tz)

    async def offer(
        self, wished: datetime, duration: timedelta, now: datetime, *, besides: int | None = None
    ) -> list[datetime]:
        """Up to three free starts nearest to `wished`, in the tenant's zone."""
        wished = self.local(wished)
        span = timedelta(days=8)
        busy = await store.busy_between(self.engine, self.tenant_id, wished - span, wished + span, besides=besides)
        lead = parse_duration(self.lifecycle.min_lead)
        week = self.tenant.opening_hours()
        return free_slots(wished, duration, now, week, busy, self.tenant.capacity, min_lead=lead)

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
    ) -> Visit | None:
        """Book (or move `moving` to) `start`; None when the slot filled up meanwhile."""
        async with self.redis.lock(
            keys.booking_lock(self.tenant_id), timeout=BOOKING_LOCK_SECONDS, blocking_timeout=BOOKING_LOCK_SECONDS
        ):
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
            )
        if visit is not None:
            await self.plan(visit, now)
        return visit

    async def set_status(self, visit: Visit, status: VisitStatus, now: datetime) -> None:
        await store.set_status(self.engine, visit.id, status.value, now)
        if status in (VisitStatus.CANCELLED, VisitStatus.VISITED, VisitStatus.NO_SHOW):
            await store.plan_reminders(self.engine, visit.id, [])  # nothing more is said about this visit

    async def plan(self, visit: Visit, now: datetime, notice: str | None = None) -> None:
        """The visit's agenda anew: its reminders still ahead, and a notice to send now (quiet hours
        allowing). A reminder whose moment had passed when the visit was booked is not planned."""
        if not visit.active and notice != NOTICE_CANCELLED:
            await store.plan_reminders(self.engine, visit.id, [])
            return
        start = self.local(visit.start_at)
        quiet = self.lifecycle.quiet()
        moments = reminder_moments(start, self.lifecycle.offsets(), self.local(now), quiet) if visit.active else []
        if notice is not None:
            moment = send_moment(self.local(now), start, quiet) if visit.active else self._after_quiet(now)
            moments.append((notice, max(moment, now)))
        await store.plan_reminders(self.engine, visit.id, moments)

    def _after_quiet(self, now: datetime) -> datetime:
        quiet = self.lifecycle.quiet()
        local = self.local(now)
        return quiet.end_after(local) if quiet is not None and quiet.contains(local) else now


def visit_when_label(start: datetime) -> str:
    """The visit's time for people and the timeline: 01.12.2026 15:00."""
    return f"{start:%d.%m.%Y %H:%M}"
