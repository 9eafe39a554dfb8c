"""What outreach asks of a person's history: booked again since a visit, when a kind of message last
went to them, whether a missed visit was recovered by its offer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import Visit
from gateway.store.sql.agenda import aware
from gateway.store.sql.schema import reminders, visits


def _same_person(tenant: str, conversation: str, phone: str | None) -> Any:
    same = visits.c.conversation == conversation
    if phone:
        same = same | (visits.c.phone == phone)
    return (visits.c.tenant == tenant) & same


async def booked_since(engine: AsyncEngine, visit: Visit) -> bool:
    """Whether the client of `visit` (this conversation or this phone, any channel) booked again after it."""
    query = select(visits.c.id).where(
        _same_person(visit.tenant, visit.conversation, visit.phone), visits.c.id > visit.id
    )
    async with engine.connect() as connection:
        return (await connection.execute(query.limit(1))).first() is not None


async def last_sent(
    engine: AsyncEngine, tenant: str, conversation: str, phone: str | None, kinds: Any
) -> datetime | None:
    """When a message of these kinds (a condition on `reminders.c.kind`) last went to this person."""
    query = (
        select(func.max(reminders.c.sent_at))
        .select_from(reminders.join(visits, reminders.c.visit_id == visits.c.id))
        .where(_same_person(tenant, conversation, phone), kinds(reminders.c.kind), reminders.c.sent_at.is_not(None))
    )
    async with engine.connect() as connection:
        found = (await connection.execute(query)).scalar_one_or_none()
    return aware(found)


async def recovered(engine: AsyncEngine, visit_id: int) -> bool:
    """A visit was booked through this missed visit's offer."""
    query = select(visits.c.id).where(visits.c.recovered_from == visit_id).limit(1)
    async with engine.connect() as connection:
        return (await connection.execute(query)).first() is not None
