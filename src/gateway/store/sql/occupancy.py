"""The visits as the owner's load and the recommendations read them: those that take a chair in a period
(booked, confirmed, visited or missed: a no-show still held the time), and the visited ones' services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import VisitStatus
from domain.recommendations import Had
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


async def visited_services(engine: AsyncEngine, tenant: str, since: datetime) -> list[Had]:
    """The tenant's visited visits since `since`: whose (phone, else conversation), when, which services."""
    query = select(visits.c.phone, visits.c.conversation, visits.c.start_at, visits.c.services).where(
        visits.c.tenant == tenant, visits.c.status == VisitStatus.VISITED.value, visits.c.start_at >= since
    )
    async with engine.connect() as connection:
        rows = list(await connection.execute(query))
    return [
        Had(row.phone or row.conversation, row.start_at, tuple(s for s in row.services.split(",") if s)) for row in rows
    ]
