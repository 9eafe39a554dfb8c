"""Deposits in the business store: one a visit, its payment, and its state. A state changes only from the
state the caller saw (compare and set), so a payment and the end of its hold racing settle it once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.engine import dialect_insert
from gateway.store.sql.schema import deposits, visits

HELD, PAID, RELEASED, PAID_LATE, FAILED = "held", "paid", "released", "paid_late", "failed"


@dataclass(frozen=True)
class Deposit:
    visit_id: int
    tenant: str
    kopecks: int
    payment_id: str | None
    status: str
    held_until: datetime
    at: datetime
    settled_at: datetime | None


def _deposit(row: object) -> Deposit:
    fields = row._mapping  # type: ignore[attr-defined]
    return Deposit(
        visit_id=fields["visit_id"],
        tenant=fields["tenant"],
        kopecks=fields["kopecks"],
        payment_id=fields["payment_id"],
        status=fields["status"],
        held_until=fields["held_until"],
        at=fields["at"],
        settled_at=fields["settled_at"],
    )


async def hold(engine: AsyncEngine, tenant: str, visit_id: int, kopecks: int, until: datetime, at: datetime) -> None:
    """The visit's deposit asked for, held until `until` (asked again: the first stands)."""
    row = {"tenant": tenant, "visit_id": visit_id, "kopecks": kopecks, "status": HELD, "held_until": until, "at": at}
    statement = dialect_insert(engine)(deposits).values(row).on_conflict_do_nothing(index_elements=["visit_id"])
    async with engine.begin() as connection:
        await connection.execute(statement)


async def set_payment(engine: AsyncEngine, visit_id: int, payment_id: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(deposits).where(deposits.c.visit_id == visit_id).values(payment_id=payment_id))


async def deposit_of(engine: AsyncEngine, visit_id: int) -> Deposit | None:
    async with engine.connect() as connection:
        row = (await connection.execute(select(deposits).where(deposits.c.visit_id == visit_id))).first()
    return _deposit(row) if row is not None else None


async def deposit_by_payment(engine: AsyncEngine, tenant: str, payment_id: str) -> Deposit | None:
    query = select(deposits).where(deposits.c.tenant == tenant, deposits.c.payment_id == payment_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return _deposit(row) if row is not None else None


async def move(engine: AsyncEngine, visit_id: int, seen: str, to: str, at: datetime) -> bool:
    """`seen` -> `to`; False when another process moved it first."""
    query = (
        update(deposits)
        .where(deposits.c.visit_id == visit_id, deposits.c.status == seen)
        .values(status=to, settled_at=at)
    )
    async with engine.begin() as connection:
        done = await connection.execute(query)
    return bool(done.rowcount)


async def past_statuses(
    engine: AsyncEngine, tenant: str, phone: str | None, conversation: str, besides: int
) -> dict[str, int]:
    """How many of the person's other visits ended in each status (by their phone, else the conversation)."""
    person = or_(visits.c.conversation == conversation, *([visits.c.phone == phone] if phone else []))
    query = (
        select(visits.c.status, func.count())
        .where(visits.c.tenant == tenant, person, visits.c.id != besides)
        .group_by(visits.c.status)
    )
    async with engine.connect() as connection:
        return {row[0]: int(row[1]) for row in await connection.execute(query)}
