"""Facts and ad spend in the business store: folded in idempotently, read back for the numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import Visit
from gateway.store.facts import Fact, Kind
from gateway.store.sql.engine import dialect_insert
from gateway.store.sql.schema import facts, reminders, spend, visits
from gateway.store.sql.visits import visit_from_row

CHUNK = 100  # rows per INSERT: each statement built is a short slice of the event loop it shares with replies


def _row(fact: Fact) -> dict[str, Any]:
    return {
        "tenant": fact.tenant,
        "key": fact.key,
        "kind": fact.kind,
        "at": fact.at,
        "lead": fact.lead,
        "channel": fact.channel,
        "utm_source": fact.utm_source,
        "utm_campaign": fact.utm_campaign,
        "service": fact.service,
        "person": fact.person,
        "manager": fact.manager,
        "amount": fact.amount,
        "seconds": fact.seconds,
    }


async def fold(engine: AsyncEngine, batch: Sequence[Fact]) -> None:
    """Store facts; one already stored is left as it is, except the manager of a lead (the latest wins)."""
    insert = dialect_insert(engine)
    assigned = [f for f in batch if f.kind == Kind.ASSIGNED]
    others = [_row(f) for f in batch if f.kind != Kind.ASSIGNED]
    async with engine.begin() as connection:
        for start in range(0, len(others), CHUNK):
            statement = insert(facts).values(others[start : start + CHUNK])
            await connection.execute(statement.on_conflict_do_nothing(index_elements=["tenant", "key"]))
        for fact in assigned:
            statement = insert(facts).values(_row(fact))
            changed = {"manager": statement.excluded.manager, "at": statement.excluded.at}
            await connection.execute(statement.on_conflict_do_update(index_elements=["tenant", "key"], set_=changed))


def _fact(row: Any) -> Fact:
    return Fact(
        key=row.key,
        kind=row.kind,
        tenant=row.tenant,
        at=row.at,
        lead=row.lead,
        channel=row.channel,
        utm_source=row.utm_source,
        utm_campaign=row.utm_campaign,
        service=row.service,
        person=row.person,
        manager=row.manager,
        amount=row.amount,
        seconds=row.seconds,
    )


async def facts_between(engine: AsyncEngine, tenant: str, start: datetime, end: datetime) -> list[Fact]:
    """The tenant's facts in [start, end)."""
    query = select(facts).where(facts.c.tenant == tenant, facts.c.at >= start, facts.c.at < end)
    async with engine.connect() as connection:
        return [_fact(row) for row in await connection.execute(query)]


async def history(engine: AsyncEngine, tenant: str, end: datetime, kinds: Sequence[str]) -> list[Fact]:
    """The tenant's facts of these kinds before `end`, all of them (first visits, lifetimes, managers)."""
    query = select(facts).where(facts.c.tenant == tenant, facts.c.kind.in_(list(kinds)), facts.c.at < end)
    async with engine.connect() as connection:
        return [_fact(row) for row in await connection.execute(query)]


@dataclass(frozen=True)
class SpendRow:
    day: date
    utm_source: str | None
    utm_campaign: str | None
    amount: float


async def replace_spend(engine: AsyncEngine, tenant: str, rows: Sequence[SpendRow]) -> int:
    """Each day named in `rows` gets exactly these rows (a day sent again replaces it); the days written."""
    days = sorted({row.day for row in rows})
    merged: dict[tuple[date, str, str], float] = {}
    for row in rows:  # the same ad twice in one upload adds up
        key = (row.day, row.utm_source or "", row.utm_campaign or "")
        merged[key] = merged.get(key, 0.0) + row.amount
    async with engine.begin() as connection:
        await connection.execute(delete(spend).where(spend.c.tenant == tenant, spend.c.day.in_(days)))
        if merged:
            values = [
                {"tenant": tenant, "day": d, "utm_source": s, "utm_campaign": c, "amount": a}
                for (d, s, c), a in merged.items()
            ]
            await connection.execute(spend.insert().values(values))
    return len(days)


async def spend_between(engine: AsyncEngine, tenant: str, first: date, last: date) -> list[SpendRow]:
    query = select(spend).where(spend.c.tenant == tenant, spend.c.day >= first, spend.c.day <= last)
    async with engine.connect() as connection:
        return [
            SpendRow(row.day, row.utm_source or None, row.utm_campaign or None, row.amount)
            for row in await connection.execute(query)
        ]


async def visits_with_messages(
    engine: AsyncEngine, tenant: str, start: datetime, end: datetime
) -> list[tuple[Visit, list[tuple[str, str | None, datetime | None]]]]:
    """The tenant's visits starting in [start, end), each with (kind, outcome, sent at) of what the bot
    sent or tried to send about it."""
    query = (
        select(visits)
        .where(visits.c.tenant == tenant, visits.c.start_at >= start, visits.c.start_at < end)
        .order_by(visits.c.start_at)
    )
    async with engine.connect() as connection:
        found = [visit_from_row(row) for row in (await connection.execute(query)).mappings()]
        ids = [visit.id for visit in found]
        messages: dict[int, list[tuple[str, str | None, datetime | None]]] = {}
        if ids:
            sent = select(reminders.c.visit_id, reminders.c.kind, reminders.c.outcome, reminders.c.sent_at).where(
                reminders.c.visit_id.in_(ids), reminders.c.claimed_at.is_not(None)
            )
            for row in await connection.execute(sent.order_by(reminders.c.id)):
                messages.setdefault(row.visit_id, []).append((row.kind, row.outcome, row.sent_at))
    return [(visit, messages.get(visit.id, [])) for visit in found]


async def forget(engine: AsyncEngine, tenant: str, phone: str, conversations: Sequence[str]) -> int:
    """Delete the facts about a person: by their phone, or by the leads of their conversations."""
    about = facts.c.person == phone
    for conversation in conversations:
        about = about | (facts.c.lead == conversation) | facts.c.lead.like(f"{conversation}#%")
    async with engine.begin() as connection:
        removed = await connection.execute(delete(facts).where(facts.c.tenant == tenant, about))
        return int(removed.rowcount or 0)
