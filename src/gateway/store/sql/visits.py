"""Visits and the reminders claimed for them, in the business store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.schema import reminders, visits


@dataclass(frozen=True)
class Visit:
    id: int
    tenant: str
    portal: str
    deal_id: int
    conversation: str
    start_at: datetime
    end_at: datetime
    services: tuple[str, ...]
    status: str


def _insert(engine: AsyncEngine):  # type: ignore[no-untyped-def]
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


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
) -> Visit:
    """Create the deal's visit, or update it (a moved or re-stated visit): one row per deal and portal."""
    values = {
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
    statement = _insert(engine)(visits).values(**values)
    changed = {
        k: statement.excluded[k] for k in ("conversation", "start_at", "end_at", "services", "status", "updated_at")
    }
    statement = statement.on_conflict_do_update(index_elements=["tenant", "portal", "deal_id"], set_=changed)
    async with engine.begin() as connection:
        await connection.execute(statement)
    found = await visit_of_deal(engine, tenant, portal, deal_id)
    assert found is not None  # noqa: S101 - written just above
    return found


async def visit_of_deal(engine: AsyncEngine, tenant: str, portal: str, deal_id: int) -> Visit | None:
    query = select(visits).where(visits.c.tenant == tenant, visits.c.portal == portal, visits.c.deal_id == deal_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).mappings().first()
    if row is None:
        return None
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
    )


async def claim_reminder(engine: AsyncEngine, visit_id: int, kind: str, due_at: datetime, now: datetime) -> int | None:
    """Claim the right to send one reminder: its id for the one caller that claims it first, else None.

    Claimed before sending and unique per (visit, kind, due time), so a retry, a second worker or a
    restart never sends it twice; a visit moved to another time has a new due time, hence a new claim.
    """
    statement = (
        _insert(engine)(reminders)
        .values(visit_id=visit_id, kind=kind, due_at=due_at, claimed_at=now)
        .on_conflict_do_nothing(index_elements=["visit_id", "kind", "due_at"])
        .returning(reminders.c.id)
    )
    async with engine.begin() as connection:
        claimed = (await connection.execute(statement)).scalar_one_or_none()
    return int(claimed) if claimed is not None else None


async def record_reminder(engine: AsyncEngine, reminder_id: int, outcome: str, detail: str, now: datetime) -> None:
    """What became of a claimed reminder: sent, or why not."""
    statement = (
        update(reminders)
        .where(reminders.c.id == reminder_id)
        .values(outcome=outcome, detail=detail[:2000], sent_at=now if outcome == "sent" else None)
    )
    async with engine.begin() as connection:
        await connection.execute(statement)


async def reminder_outcomes(engine: AsyncEngine, visit_id: int) -> list[tuple[str, str | None]]:
    query = (
        select(reminders.c.kind, reminders.c.outcome).where(reminders.c.visit_id == visit_id).order_by(reminders.c.id)
    )
    async with engine.connect() as connection:
        return [(row.kind, row.outcome) for row in (await connection.execute(query))]
