"""Each visit's agenda in the business store: the reminders, notices and offers planned for it, read
when due, claimed before sending (so sent once) and their outcome kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain import DueReminder
from gateway.store.sql.schema import reminders, visits
from gateway.store.sql.visits import insert


def _follows_the_visit(kind: Any) -> Any:
    """Agenda kinds planned from the visit's start (reminders, upsell before it), replaced when it moves;
    the others (the consent question, offers after it, an upsell at confirmation) stay."""
    return ~kind.in_(["consent", "no_show"]) & ~kind.like("retention:%") & ~kind.like("upsell:%:confirmation")


async def plan_reminders(engine: AsyncEngine, visit_id: int, moments: Sequence[tuple[str, datetime]]) -> None:
    """Replace the visit's planned (unclaimed) reminders by these; one already claimed is never redone."""
    async with engine.begin() as connection:
        await connection.execute(
            delete(reminders).where(
                reminders.c.visit_id == visit_id, reminders.c.claimed_at.is_(None), _follows_the_visit(reminders.c.kind)
            )
        )
        await _add(connection, visit_id, moments)


async def clear_agenda(engine: AsyncEngine, visit_id: int) -> None:
    """Nothing more planned is said about this visit (it was cancelled, or it is over)."""
    async with engine.begin() as connection:
        await connection.execute(
            delete(reminders).where(reminders.c.visit_id == visit_id, reminders.c.claimed_at.is_(None))
        )


async def add_to_agenda(engine: AsyncEngine, visit_id: int, moments: Sequence[tuple[str, datetime]]) -> None:
    """Plan these beside whatever the visit's agenda holds."""
    async with engine.begin() as connection:
        await _add(connection, visit_id, moments)


async def _add(connection: AsyncConnection, visit_id: int, moments: Sequence[tuple[str, datetime]]) -> None:
    for kind, due_at in moments:
        await connection.execute(
            insert(connection)(reminders)
            .values(visit_id=visit_id, kind=kind, due_at=due_at)
            .on_conflict_do_nothing(index_elements=["visit_id", "kind", "due_at"])
        )


async def due_reminders(
    engine: AsyncEngine, now: datetime, served: Sequence[tuple[str, str]], limit: int = 500
) -> list[DueReminder]:
    """Planned reminders whose moment has come, oldest first, of the visits of the (tenant, portal) pairs a
    process serves: another process's tenants (a rolling deploy, a second deployment on the same database)
    are left to it, neither sent from the wrong config nor marked stale."""
    if not served:
        return []
    ours = or_(*(and_(visits.c.tenant == tenant, visits.c.portal == portal) for tenant, portal in served))
    query = (
        select(
            reminders.c.id,
            reminders.c.visit_id,
            reminders.c.kind,
            reminders.c.due_at,
            visits.c.tenant,
            visits.c.channel,
        )
        .join(visits, visits.c.id == reminders.c.visit_id)
        .where(reminders.c.claimed_at.is_(None), reminders.c.due_at <= now, ours)
        .order_by(reminders.c.due_at)
        .limit(limit)
    )
    async with engine.connect() as connection:
        rows = await connection.execute(query)
        return [DueReminder(r.id, r.visit_id, r.kind, r.due_at, f"{r.tenant}:{r.channel}") for r in rows]


async def planned_reminders(engine: AsyncEngine, visit_id: int) -> list[tuple[str, datetime]]:
    query = (
        select(reminders.c.kind, reminders.c.due_at)
        .where(reminders.c.visit_id == visit_id, reminders.c.claimed_at.is_(None))
        .order_by(reminders.c.due_at)
    )
    async with engine.connect() as connection:
        return [(r.kind, r.due_at) for r in await connection.execute(query)]


async def claim_reminder(engine: AsyncEngine, reminder_id: int, now: datetime) -> bool:
    """Take a planned reminder for sending: True for the one caller that takes it first.

    Claimed before it is sent, so a retry, a second worker or a restart never sends it twice; a worker
    that dies after claiming leaves it claimed without an outcome (at most once: a reminder sent twice
    costs more trust than one missed, and the platforms take no idempotency key).
    """
    statement = (
        update(reminders).where(reminders.c.id == reminder_id, reminders.c.claimed_at.is_(None)).values(claimed_at=now)
    )
    async with engine.begin() as connection:
        return (await connection.execute(statement)).rowcount == 1


async def release_reminder(engine: AsyncEngine, reminder_id: int) -> None:
    """Give a claimed reminder back: the platform said for certain it did not take it (a 429, a 5xx)."""
    statement = update(reminders).where(reminders.c.id == reminder_id, reminders.c.outcome.is_(None))
    async with engine.begin() as connection:
        await connection.execute(statement.values(claimed_at=None))


async def postpone_reminder(engine: AsyncEngine, reminder_id: int, until: datetime) -> None:
    """Move a planned reminder's moment (quiet hours began, or the platform asked to wait)."""
    statement = update(reminders).where(reminders.c.id == reminder_id, reminders.c.claimed_at.is_(None))
    async with engine.begin() as connection:
        await connection.execute(statement.values(due_at=until))


async def record_reminder(engine: AsyncEngine, reminder_id: int, outcome: str, detail: str, now: datetime) -> None:
    """What became of a claimed reminder: sent, or why not."""
    statement = (
        update(reminders)
        .where(reminders.c.id == reminder_id)
        .values(outcome=outcome, detail=detail[:2000], sent_at=now if outcome == "sent" else None, claimed_at=now)
    )
    async with engine.begin() as connection:
        await connection.execute(statement)


async def reminder_outcomes(engine: AsyncEngine, visit_id: int) -> list[tuple[str, str | None]]:
    query = (
        select(reminders.c.kind, reminders.c.outcome)
        .where(reminders.c.visit_id == visit_id, reminders.c.claimed_at.is_not(None))
        .order_by(reminders.c.id)
    )
    async with engine.connect() as connection:
        return [(row.kind, row.outcome) for row in (await connection.execute(query))]


def aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def sent_at(engine: AsyncEngine, visit_id: int, kind: str) -> datetime | None:
    query = select(func.max(reminders.c.sent_at)).where(reminders.c.visit_id == visit_id, reminders.c.kind == kind)
    async with engine.connect() as connection:
        return aware((await connection.execute(query)).scalar_one_or_none())
