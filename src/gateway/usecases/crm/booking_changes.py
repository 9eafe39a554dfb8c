"""What a manager did in Bitrix24 Online Booking reaches the visit: a booking added, moved or deleted,
from the portal's booking events and from a poll of the bookings ahead (an event may be lost)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import Visit, VisitStatus
from gateway.store import keys
from gateway.store.redis_result import result
from gateway.store.sql import visits as store
from gateway.usecases.crm.portal_changes import (
    PAGE,
    PortalChanges,
    client_of,
    conversation_of_deal,
    note_on_deal,
    read_deal,
    reloaded,
    save_from_portal,
)
from gateway.usecases.visits.appointments import NOTICE_BOOKED, NOTICE_CANCELLED, NOTICE_MOVED
from gateway.usecases.visits.online_booking import PortalBooking


async def booking_changed(changes: PortalChanges, event: str, booking_id: int, now: datetime) -> str:
    """onBookingAdd/Update/Delete (or the poll's finding): the visit follows the portal's booking."""
    app = changes.appointments
    online = app.online
    if online is None:
        return "off"
    booking = None if event == "ONBOOKINGDELETE" else await online.get(booking_id)
    visit = await store.visit_of_booking(app.engine, app.tenant_id, app.portal, booking_id)
    if booking is None:  # deleted
        if visit is None or not visit.active:
            return "not_ours"
        await app.set_status(visit, VisitStatus.CANCELLED, now)
        await store.set_booking(app.engine, visit.id, None, None)
        await app.plan(await reloaded(app, visit), now, NOTICE_CANCELLED)
        when = app.local(visit.start_at)
        await note_on_deal(
            changes, visit.conversation, f"Бронь удалена в портале: визит {when:%d.%m %H:%M} отменён", now
        )
        return "cancelled"
    if visit is not None:
        if booking.start in (visit.start_at, visit.booking_start) or not visit.active:
            return "unchanged"  # ours, as we made or moved it
        return await _booking_moved(changes, visit, booking, now)
    return await _booking_added(changes, booking, now)


async def _booking_moved(changes: PortalChanges, visit: Visit, booking: PortalBooking, now: datetime) -> str:
    app = changes.appointments
    saved = await save_from_portal(
        changes,
        conv=visit.conversation,
        deal_id=visit.deal_id or 0,
        start=booking.start,
        end=booking.end,
        services=visit.services,
        status=visit.status,
        now=now,
    )
    await store.set_booking(app.engine, saved.id, booking.id, booking.start)
    await app.plan(saved, now, NOTICE_MOVED)
    when = app.local(booking.start)
    await note_on_deal(changes, visit.conversation, f"Бронь перенесена в портале на {when:%d.%m %H:%M}", now)
    return "moved"


async def _booking_added(changes: PortalChanges, booking: PortalBooking, now: datetime) -> str:
    """A manager's booking linked to one of our deals: the client's visit, confirmed to them."""
    app = changes.appointments
    assert app.online is not None  # noqa: S101 - only with `booking:`
    deal_id = await app.online.deal_of(booking.id)
    if deal_id is None:
        return "not_ours"
    row = await read_deal(changes, deal_id)
    conv = await conversation_of_deal(changes, row, deal_id) if row is not None else None
    if conv is None:
        return "not_ours"
    existing = await store.visit_of_deal(app.engine, app.tenant_id, app.portal, deal_id)
    if existing is not None and existing.active and existing.start_at == booking.start:
        await store.set_booking(app.engine, existing.id, booking.id, booking.start)  # ours, its answer was late
        return "unchanged"
    to, asked, phone = await client_of(changes, conv)
    saved = await save_from_portal(
        changes,
        conv=conv,
        deal_id=deal_id,
        start=booking.start,
        end=booking.end,
        services=existing.services if existing is not None else asked,
        status=VisitStatus.BOOKED,
        now=now,
        to=to,
        phone=phone,
    )
    await store.set_booking(app.engine, saved.id, booking.id, booking.start)
    await app.plan(saved, now, NOTICE_BOOKED if existing is None or not existing.active else NOTICE_MOVED)
    when = app.local(booking.start)
    await note_on_deal(changes, conv, f"Бронь в портале: визит {when:%d.%m %H:%M}", now)
    return "booked"


BOOKING_POLL_AHEAD = timedelta(days=60)


SEEN_BOOKINGS_SECONDS = 24 * 3600


async def poll_bookings(changes: PortalChanges, now: datetime) -> int:
    """Bookings moved, deleted or added in the portal since we last looked (their events may be lost):
    every booking of the coming weeks against the visits we know. Returns the requests made."""
    app = changes.appointments
    if app.online is None:
        return 0
    portal_bookings = {b.id: b for b in await app.online.bookings(now - timedelta(days=1), now + BOOKING_POLL_AHEAD)}
    requests = 1 + len(portal_bookings) // PAGE
    known = await store.booked_in_portal(app.engine, app.tenant_id, app.portal)
    for visit in known:
        found = portal_bookings.get(visit.booking_id or 0)
        if visit.start_at > now + BOOKING_POLL_AHEAD:
            continue
        if found is None:
            requests += 1
            await booking_changed(changes, "ONBOOKINGUPDATE", visit.booking_id or 0, now)
        elif found.start not in (visit.start_at, visit.booking_start):
            await _booking_moved(changes, visit, found, now)
    ours = {v.booking_id for v in known}
    seen_key = keys.bookings_seen(app.tenant_id)
    for booking_id, booking in portal_bookings.items():
        seen: int = await result(changes.crm.redis.sismember(seen_key, str(booking_id)))
        if booking_id in ours or seen:
            continue
        requests += 2
        await _booking_added(changes, booking, now)
        await result(changes.crm.redis.sadd(seen_key, str(booking_id)))
        await changes.crm.redis.expire(seen_key, SEEN_BOOKINGS_SECONDS)
    return requests
