"""The visits that take a chair in a period, for the masters' load: booked, confirmed, visited or missed
(a no-show still held the time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import VisitStatus
from domain.utilisation import Occupied
from gateway.store.sql.schema import visits

HOLDING = [VisitStatus.BOOKED, VisitStatus.CONFIRMED, VisitStatus.VISITED, VisitStatus.NO_SHOW]


async def occupied_between(engine: AsyncEngine, tenant: str, start: datetime, end: datetime) -> list[Occupied]:
    query = select(visits.c.start_at, visits.c.end_at, visits.c.resource_id).where(
        visits.c.tenant == tenant,
        visits.c.start_at < end,
        visits.c.end_at > start,
        visits.c.status.in_([s.value for s in HOLDING]),
    )
    async with engine.connect() as connection:
        return [Occupied(row.start_at, row.end_at, row.resource_id) for row in await connection.execute(query)]
