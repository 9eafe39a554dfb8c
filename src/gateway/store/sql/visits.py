"""Visits in the business store: booked, moved, closed, their deal and booking, and erased; each visit's
agenda is in agenda.py, what outreach asks of a person's history in outreach_history.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain import ACTIVE, Address, Busy, Visit
from gateway.store.sql.schema import reminders, visits


def insert(engine: AsyncEngine | AsyncConnection):  # type: ignore[no-untyped-def]
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def visit_from_row(row: Any) -> Visit:
    return Visit(
        id=row["id"],
        tenant=row["tenant"],
        portal=row["portal"],
        deal_id=row["deal_id"],
        conversation=row["conversation"],
        start_at=row["start_at"],
        end_at=row["end_at"],
        services=tuple(s for s in row["services"].split(",") if s),
        status=row["status"],
        channel=row["channel"],
        chat_id=row["chat_id"],
        reply_phone=row["reply_phone"],
        resource_id=row["resource_id"],
        booking_id=row["booking_id"],
        booking_start=row["booking_start"],
        phone=row["phone"],
        discount_percent=row["discount_percent"],
        recovered_from=row["recovered_from"],
        revenue=row["revenue"],
        manager_id=row["manager_id"],
    )


async def _one(engine: AsyncEngine, query: Any) -> Visit | None:
    async with engine.connect() as connection:
        row = (await connection.execute(query)).mappings().first()
    return visit_from_row(row) if row is not None else None


async def visit_by_id(engine: AsyncEngine, visit_id: int) -> Visit | None:
    return await _one(engine, select(visits).where(visits.c.id == visit_id))


async def visit_of_deal(engine: AsyncEngine, tenant: str, portal: str, deal_id: int) -> Visit | None:
    query = select(visits).where(visits.c.tenant == tenant, visits.c.portal == portal, visits.c.deal_id == deal_id)
    return await _one(engine, query)


async def latest_visit(engine: AsyncEngine, tenant: str, conversation: str) -> Visit | None:
    """The conversation's most recent visit, whatever became of it."""
    query = (
        select(visits)
        .where(visits.c.tenant == tenant, visits.c.conversation == conversation)
        .order_by(visits.c.id.desc())
        .limit(1)
    )
    return await _one(engine, query)


async def busy_between(
    engine: AsyncEngine, tenant: str, start: datetime, end: datetime, *, besides: int | None = None
) -> list[Busy]:
    """The active visits of a tenant that overlap [start, end), but `besides` (a visit being moved)."""
    query = select(visits.c.start_at, visits.c.end_at).where(
        visits.c.tenant == tenant,
        visits.c.status.in_([s.value for s in ACTIVE]),
        visits.c.start_at < end,
        visits.c.end_at > start,
    )
    if besides is not None:
        query = query.where(visits.c.id != besides)
    async with engine.connect() as connection:
        return [Busy(row.start_at, row.end_at) for row in await connection.execute(query)]


async def book_visit(
    engine: AsyncEngine,
    *,
    tenant: str,
    portal: str,
    conversation: str,
    to: Address,
    deal_id: int | None,
    start_at: datetime,
    end_at: datetime,
    services: Sequence[str],
    capacity: int,
    now: datetime,
    moving: int | None = None,
    resource_id: int | None = None,
    phone: str | None = None,
    discount_percent: int | None = None,
    recovered_from: int | None = None,
) -> Visit | None:
    """Book [start_at, end_at) if fewer than `capacity` active visits overlap it (with `resource_id`: if
    none of that resource's does); `moving`: that visit is moved there instead. None when it is taken.
    Callers serialise the bookings of one tenant."""
    async with engine.begin() as connection:
        taken = select(func.count()).where(
            visits.c.tenant == tenant,
            visits.c.status.in_([s.value for s in ACTIVE]),
            visits.c.start_at < end_at,
            visits.c.end_at > start_at,
        )
        if resource_id is not None:
            taken, capacity = taken.where(visits.c.resource_id == resource_id), 1
        if moving is not None:
            taken = taken.where(visits.c.id != moving)
        if (await connection.execute(taken)).scalar_one() >= capacity:
            return None
        if moving is not None:
            await connection.execute(
                update(visits)
                .where(visits.c.id == moving)
                .values(
                    start_at=start_at,
                    end_at=end_at,
                    status="booked",
                    updated_at=now,
                    resource_id=resource_id,
                    services=",".join(services),  # moved for another service (a form's request)
                )
            )
            visit_id = moving
        else:
            inserted = await connection.execute(
                visits.insert()
                .values(
                    tenant=tenant,
                    portal=portal,
                    deal_id=deal_id,
                    conversation=conversation,
                    channel=to.channel,
                    chat_id=to.chat_id,
                    reply_phone=to.reply_phone,
                    start_at=start_at,
                    end_at=end_at,
                    services=",".join(services),
                    status="booked",
                    updated_at=now,
                    resource_id=resource_id,
                    phone=phone,
                    discount_percent=discount_percent,
                    recovered_from=recovered_from,
                )
                .returning(visits.c.id)
            )
            visit_id = int(inserted.scalar_one())
    return await visit_by_id(engine, visit_id)


async def save_visit(
    engine: AsyncEngine,
    *,
    tenant: str,
    portal: str,
    deal_id: int,
    conversation: str,
    start_at: datetime,
    end_at: datetime,
    services: tuple[str, ...],
    status: str,
    now: datetime,
    to: Address | None = None,
    phone: str | None = None,
    revenue: float | None = None,
    manager_id: int | None = None,
) -> Visit:
    """Create the deal's visit, or update it (a moved or re-stated visit): one row per deal and portal."""
    values: dict[str, Any] = {
        "tenant": tenant,
        "portal": portal,
        "deal_id": deal_id,
        "conversation": conversation,
        "start_at": start_at,
        "end_at": end_at,
        "services": ",".join(services),
        "status": status,
        "updated_at": now,
    }
    if to is not None:
        values.update(channel=to.channel, chat_id=to.chat_id, reply_phone=to.reply_phone)
    optional = {"phone": phone, "revenue": revenue, "manager_id": manager_id}
    values.update({name: value for name, value in optional.items() if value is not None})
    statement = insert(engine)(visits).values(**values)
    changed = {k: statement.excluded[k] for k in values if k not in ("tenant", "portal", "deal_id")}
    statement = statement.on_conflict_do_update(index_elements=["tenant", "portal", "deal_id"], set_=changed)
    async with engine.begin() as connection:
        await connection.execute(statement)
    found = await visit_of_deal(engine, tenant, portal, deal_id)
    assert found is not None  # noqa: S101 - written just above
    return found


async def pending_by_resource(
    engine: AsyncEngine, tenant: str, start: datetime, end: datetime
) -> dict[int, list[Busy]]:
    """Active visits of a resource whose portal booking is not made or not moved yet (the portal's
    booking list does not show them as they are)."""
    query = select(visits.c.resource_id, visits.c.start_at, visits.c.end_at).where(
        visits.c.tenant == tenant,
        visits.c.status.in_([s.value for s in ACTIVE]),
        visits.c.resource_id.is_not(None),
        visits.c.start_at < end,
        visits.c.end_at > start,
    )
    found: dict[int, list[Busy]] = {}
    async with engine.connect() as connection:
        for row in await connection.execute(query):
            found.setdefault(int(row.resource_id), []).append(Busy(row.start_at, row.end_at))
    return found


async def visit_of_booking(engine: AsyncEngine, tenant: str, portal: str, booking_id: int) -> Visit | None:
    query = select(visits).where(
        visits.c.tenant == tenant, visits.c.portal == portal, visits.c.booking_id == booking_id
    )
    return await _one(engine, query)


async def booked_in_portal(engine: AsyncEngine, tenant: str, portal: str) -> list[Visit]:
    """Visits with a portal booking that the poll should find in the portal."""
    query = select(visits).where(
        visits.c.tenant == tenant,
        visits.c.portal == portal,
        visits.c.booking_id.is_not(None),
        visits.c.status.in_([s.value for s in ACTIVE]),
    )
    async with engine.connect() as connection:
        return [visit_from_row(row) for row in (await connection.execute(query)).mappings()]


async def set_booking(
    engine: AsyncEngine, visit_id: int, booking_id: int | None, booking_start: datetime | None
) -> None:
    """The portal's booking of the visit, and the start it has there."""
    statement = update(visits).where(visits.c.id == visit_id)
    async with engine.begin() as connection:
        await connection.execute(statement.values(booking_id=booking_id, booking_start=booking_start))


async def set_status(engine: AsyncEngine, visit_id: int, status: str, now: datetime) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(visits).where(visits.c.id == visit_id).values(status=status, updated_at=now))


async def attach_deal(engine: AsyncEngine, tenant: str, portal: str, conversation: str, deal_id: int) -> None:
    """The conversation's deal now exists: its visits booked in the chat belong to it."""
    async with engine.begin() as connection:
        await connection.execute(
            update(visits)
            .where(
                visits.c.tenant == tenant,
                visits.c.portal == portal,
                visits.c.conversation == conversation,
                visits.c.deal_id.is_(None),
            )
            .values(deal_id=deal_id)
        )


async def prune(engine: AsyncEngine, before: datetime) -> int:
    """Delete visits that ended before `before`, with their reminders; the visits removed."""
    async with engine.begin() as connection:
        old = select(visits.c.id).where(visits.c.end_at < before)
        await connection.execute(delete(reminders).where(reminders.c.visit_id.in_(old)))
        removed = await connection.execute(delete(visits).where(visits.c.end_at < before))
        return int(removed.rowcount or 0)


async def extend_visit(
    engine: AsyncEngine, visit: Visit, services: Sequence[str], end_at: datetime, capacity: int, now: datetime
) -> bool:
    """Add services to a visit, ending it at `end_at`, if fewer than `capacity` other active visits (of its
    resource: none) overlap the added time. Callers serialise the bookings of one tenant."""
    async with engine.begin() as connection:
        if end_at > visit.end_at:
            taken = select(func.count()).where(
                visits.c.tenant == visit.tenant,
                visits.c.id != visit.id,
                visits.c.status.in_([s.value for s in ACTIVE]),
                visits.c.start_at < end_at,
                visits.c.end_at > visit.end_at,
            )
            if visit.resource_id is not None:
                taken, capacity = taken.where(visits.c.resource_id == visit.resource_id), 1
            if (await connection.execute(taken)).scalar_one() >= capacity:
                return False
        await connection.execute(
            update(visits)
            .where(visits.c.id == visit.id)
            .values(services=",".join(services), end_at=end_at, updated_at=now)
        )
    return True


async def set_revenue(engine: AsyncEngine, visit_id: int, revenue: float | None, manager_id: int | None) -> None:
    """What the visit brought (the deal's OPPORTUNITY) and who handled it (ASSIGNED_BY_ID)."""
    async with engine.begin() as connection:
        await connection.execute(
            update(visits).where(visits.c.id == visit_id).values(revenue=revenue, manager_id=manager_id)
        )


async def conversations_of_phone(engine: AsyncEngine, tenant: str, phone: str) -> set[str]:
    """The conversations whose visits were booked with this phone (what erasing a person starts from)."""
    query = select(visits.c.conversation).where(visits.c.tenant == tenant, visits.c.phone == phone).distinct()
    async with engine.connect() as connection:
        return {row.conversation for row in await connection.execute(query)}


async def forget_person(engine: AsyncEngine, tenant: str, conversations: Sequence[str], phone: str) -> int:
    """Delete the visits (and their agenda) of this phone or these conversations; the visits removed."""
    person = (visits.c.tenant == tenant) & ((visits.c.phone == phone) | visits.c.conversation.in_(list(conversations)))
    async with engine.begin() as connection:
        ids = [row.id for row in await connection.execute(select(visits.c.id).where(person))]
        if not ids:
            return 0
        await connection.execute(delete(reminders).where(reminders.c.visit_id.in_(ids)))
        await connection.execute(delete(visits).where(visits.c.id.in_(ids)))
        return len(ids)


async def latest_on_a_messenger(
    engine: AsyncEngine, tenant: str, phone: str, messengers: Sequence[str]
) -> Visit | None:
    """The person's latest visit (by phone) whose conversation is on one of these messengers."""
    query = (
        select(visits)
        .where(visits.c.tenant == tenant, visits.c.phone == phone, visits.c.channel.in_(list(messengers)))
        .order_by(visits.c.id.desc())
        .limit(1)
    )
    return await _one(engine, query)
