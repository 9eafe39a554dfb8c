"""The waitlist in the business store: who waits for which times, in the order they joined, and the
starts freed for them. Each change is made from the state the caller saw, so two workers offer a slot once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.schema import freed_slots, waitlist

WAITING, OFFERED, BOOKED, LEFT = "waiting", "offered", "booked", "left"
OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class Waiting:
    id: int
    conversation: str
    channel: str
    chat_id: str
    reply_phone: str | None
    phone: str | None
    services: tuple[str, ...]
    duration_min: int
    wished_from: datetime
    wished_to: datetime
    status: str
    offered_start: datetime | None


@dataclass(frozen=True)
class FreedSlot:
    id: int
    start_at: datetime
    end_at: datetime
    offered: tuple[int, ...]  # the waiting clients it was offered to, in turn


def _waiting(row: object) -> Waiting:
    m = row._mapping  # type: ignore[attr-defined]
    return Waiting(
        id=m["id"],
        conversation=m["conversation"],
        channel=m["channel"],
        chat_id=m["chat_id"],
        reply_phone=m["reply_phone"],
        phone=m["phone"],
        services=tuple(s for s in m["services"].split(",") if s),
        duration_min=m["duration_min"],
        wished_from=m["wished_from"],
        wished_to=m["wished_to"],
        status=m["status"],
        offered_start=m["offered_start"],
    )


async def join(engine: AsyncEngine, tenant: str, portal: str, row: Mapping[str, Any], at: datetime) -> int:
    """A client joins (or, waiting already for an overlapping time, stays where they were in the line)."""
    async with engine.begin() as connection:
        same = (
            await connection.execute(
                select(waitlist.c.id).where(
                    waitlist.c.tenant == tenant,
                    waitlist.c.conversation == row["conversation"],
                    waitlist.c.status.in_([WAITING, OFFERED]),
                    waitlist.c.wished_from <= row["wished_to"],
                    waitlist.c.wished_to >= row["wished_from"],
                )
            )
        ).first()
        if same is not None:
            return int(same.id)
        values = {**row, "tenant": tenant, "portal": portal, "joined_at": at, "status": WAITING}
        done = await connection.execute(insert(waitlist).values(**values))
        key = done.inserted_primary_key
        assert key is not None  # noqa: S101 - an insert has one
        return int(key[0])


async def entry(engine: AsyncEngine, entry_id: int) -> Waiting | None:
    async with engine.connect() as connection:
        row = (await connection.execute(select(waitlist).where(waitlist.c.id == entry_id))).first()
    return _waiting(row) if row is not None else None


async def free(engine: AsyncEngine, tenant: str, portal: str, start: datetime, end: datetime, at: datetime) -> None:
    row = {"tenant": tenant, "portal": portal, "start_at": start, "end_at": end, "freed_at": at, "status": OPEN}
    async with engine.begin() as connection:
        await connection.execute(insert(freed_slots).values(**row))


async def open_slots(engine: AsyncEngine, tenant: str, portal: str) -> list[FreedSlot]:
    query = (
        select(freed_slots)
        .where(freed_slots.c.tenant == tenant, freed_slots.c.portal == portal, freed_slots.c.status == OPEN)
        .order_by(freed_slots.c.id)
    )
    async with engine.connect() as connection:
        rows = list(await connection.execute(query))
    return [FreedSlot(r.id, r.start_at, r.end_at, tuple(int(i) for i in r.offered.split(",") if i)) for r in rows]


async def close(engine: AsyncEngine, slot_id: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(freed_slots).where(freed_slots.c.id == slot_id).values(status=CLOSED))


async def next_in_line(engine: AsyncEngine, tenant: str, portal: str, slot: FreedSlot) -> Waiting | None:
    """The first to join among those waiting for a time that holds the slot's start and not offered it
    yet (the caller asks only when nobody is still considering it: `offering`)."""
    query = (
        select(waitlist)
        .where(
            waitlist.c.tenant == tenant,
            waitlist.c.portal == portal,
            waitlist.c.status == WAITING,
            waitlist.c.wished_from <= slot.start_at,
            waitlist.c.wished_to >= slot.start_at,
            *([waitlist.c.id.not_in(slot.offered)] if slot.offered else []),
        )
        .order_by(waitlist.c.joined_at, waitlist.c.id)
        .limit(1)
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return _waiting(row) if row is not None else None


async def offering(engine: AsyncEngine, slot: FreedSlot, now: datetime) -> bool:
    """Whether someone offered this slot may still take it (their offer not over yet)."""
    if not slot.offered:
        return False
    query = select(waitlist.c.id).where(
        waitlist.c.id == slot.offered[-1],
        waitlist.c.status == OFFERED,
        waitlist.c.offered_start == slot.start_at,
        waitlist.c.offered_until > now,
    )
    async with engine.connect() as connection:
        return (await connection.execute(query)).first() is not None


async def offer(engine: AsyncEngine, slot: FreedSlot, waiting: Waiting, until: datetime) -> bool:
    """The slot offered to `waiting` until `until`; False if they were taken meanwhile (another worker)."""
    async with engine.begin() as connection:
        done = await connection.execute(
            update(waitlist)
            .where(waitlist.c.id == waiting.id, waitlist.c.status == WAITING)
            .values(status=OFFERED, offered_start=slot.start_at, offered_until=until)
        )
        if not done.rowcount:
            return False
        offered = ",".join(str(i) for i in (*slot.offered, waiting.id))
        await connection.execute(update(freed_slots).where(freed_slots.c.id == slot.id).values(offered=offered))
    return True


async def skip(engine: AsyncEngine, slot: FreedSlot, waiting: Waiting) -> FreedSlot:
    """`waiting` passed over for this slot (it does not fit their visit, or they said stop)."""
    offered = (*slot.offered, waiting.id)
    async with engine.begin() as connection:
        values = {"offered": ",".join(str(i) for i in offered)}
        await connection.execute(update(freed_slots).where(freed_slots.c.id == slot.id).values(**values))
    return FreedSlot(slot.id, slot.start_at, slot.end_at, offered)


async def leave(engine: AsyncEngine, entry_id: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(waitlist).where(waitlist.c.id == entry_id).values(status=LEFT))


async def forget(engine: AsyncEngine, tenant: str, conversations: list[str], phone: str | None) -> int:
    """A person's places in the line, erased."""
    person = or_(waitlist.c.conversation.in_(conversations), *([waitlist.c.phone == phone] if phone else []))
    async with engine.begin() as connection:
        done = await connection.execute(delete(waitlist).where(waitlist.c.tenant == tenant, person))
    return int(done.rowcount or 0)


async def lapse(engine: AsyncEngine, tenant: str, now: datetime) -> int:
    """Offers not taken in time: their clients wait again (for another slot; this one goes to the next)."""
    query = (
        update(waitlist)
        .where(and_(waitlist.c.tenant == tenant, waitlist.c.status == OFFERED, waitlist.c.offered_until <= now))
        .values(status=WAITING)
    )
    async with engine.begin() as connection:
        done = await connection.execute(query)
    return int(done.rowcount or 0)


async def lapse_now(engine: AsyncEngine, entry_id: int) -> None:
    """An offer that could not reach its client: they wait again, and the slot goes to the next."""
    query = update(waitlist).where(waitlist.c.id == entry_id, waitlist.c.status == OFFERED).values(status=WAITING)
    async with engine.begin() as connection:
        await connection.execute(query)


async def booked(engine: AsyncEngine, entry_id: int, visit_id: int) -> bool:
    """The client booked from the waitlist; False if that entry was booked already."""
    query = (
        update(waitlist)
        .where(waitlist.c.id == entry_id, waitlist.c.status.in_([WAITING, OFFERED]))
        .values(status=BOOKED, visit_id=visit_id)
    )
    async with engine.begin() as connection:
        done = await connection.execute(query)
    return bool(done.rowcount)


async def prune(engine: AsyncEngine, before: datetime) -> int:
    """Places in the line whose wished time ended before `before`, and slots freed before it: the client's
    chat id and phone are not kept for a wait that is over."""
    async with engine.begin() as connection:
        done = await connection.execute(delete(waitlist).where(waitlist.c.wished_to < before))
        await connection.execute(delete(freed_slots).where(freed_slots.c.start_at < before))
    return int(done.rowcount or 0)
