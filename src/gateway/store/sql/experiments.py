"""Experiments in the business store: who is in which variant, which variants were delivered about which
visit, and what became of those visits and their people (read back for the verdict)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.facts import Kind
from gateway.store.sql.engine import dialect_insert
from gateway.store.sql.schema import experiment_assignments, experiment_exposures, facts, ratings, visits


@dataclass(frozen=True)
class Exposure:
    variant: str
    visit_id: int
    person: str
    at: datetime


@dataclass(frozen=True)
class ExposedVisit:
    """An exposure with what its metric is read from: the visit as it stands and its people's facts."""

    exposure: Exposure
    status: str
    start_at: datetime
    confirmed_at: datetime | None  # when the visit was confirmed, if it was
    later: tuple[tuple[str, datetime], ...]  # (kind, at) of the person's bookings and upsells afterwards
    rated: bool = False  # the client rated the visit (lifecycle.review)


async def assignments(engine: AsyncEngine, tenant: str, experiment: str, people: Sequence[str]) -> dict[str, str]:
    """The variant kept under each of the person's keys that has one."""
    query = select(experiment_assignments.c.person, experiment_assignments.c.variant).where(
        experiment_assignments.c.tenant == tenant,
        experiment_assignments.c.experiment == experiment,
        experiment_assignments.c.person.in_(people),
    )
    async with engine.connect() as connection:
        return {row.person: row.variant for row in await connection.execute(query)}


async def assign(
    engine: AsyncEngine, tenant: str, experiment: str, people: Sequence[str], variant: str, at: datetime
) -> str:
    """Keep `variant` under each key that has none; the variant that stands under the first key (another
    replica's may have come first) is returned."""
    rows = [
        {"tenant": tenant, "experiment": experiment, "person": person, "variant": variant, "at": at}
        for person in people
    ]
    statement = dialect_insert(engine)(experiment_assignments).values(rows)
    async with engine.begin() as connection:
        await connection.execute(statement.on_conflict_do_nothing(index_elements=["tenant", "experiment", "person"]))
    kept = await assignments(engine, tenant, experiment, people[:1])
    return kept.get(people[0], variant)


async def expose(engine: AsyncEngine, tenant: str, experiment: str, exposure: Exposure) -> bool:
    """Record a delivered variant; False if this visit was already counted in the experiment."""
    row = {
        "tenant": tenant,
        "experiment": experiment,
        "variant": exposure.variant,
        "visit_id": exposure.visit_id,
        "person": exposure.person,
        "at": exposure.at,
    }
    statement = dialect_insert(engine)(experiment_exposures).values(row)
    async with engine.begin() as connection:
        done = await connection.execute(
            statement.on_conflict_do_nothing(index_elements=["tenant", "experiment", "visit_id"])
        )
    return bool(done.rowcount)


async def exposed_visits(engine: AsyncEngine, tenant: str, experiment: str, window: timedelta) -> list[ExposedVisit]:
    """Every exposure of the experiment with its visit, its confirmation, and the person's bookings and
    upsells within `window` after it."""
    query = (
        select(experiment_exposures, visits.c.status, visits.c.start_at, visits.c.phone, visits.c.conversation)
        .join(visits, visits.c.id == experiment_exposures.c.visit_id)
        .where(experiment_exposures.c.tenant == tenant, experiment_exposures.c.experiment == experiment)
        .order_by(experiment_exposures.c.id)
    )
    async with engine.connect() as connection:
        rows = list(await connection.execute(query))
        if not rows:
            return []
        confirmed = await _confirmations(connection, tenant, [row.visit_id for row in rows])
        rated = await _rated(connection, [row.visit_id for row in rows])
        people = {key for row in rows for key in (row.person, row.phone, row.conversation) if key}
        since = min(row.at for row in rows)
        later = await _bookings(connection, tenant, people, since)
    found = []
    for row in rows:
        keys = {row.person, row.phone, row.conversation}
        after = tuple((kind, at) for person, kind, at in later if person in keys and row.at < at <= row.at + window)
        exposure = Exposure(row.variant, row.visit_id, row.person, row.at)
        seen = ExposedVisit(
            exposure, row.status, row.start_at, confirmed.get(row.visit_id), after, row.visit_id in rated
        )
        found.append(seen)
    return found


async def _confirmations(connection: AsyncConnection, tenant: str, visit_ids: list[int]) -> dict[int, datetime]:
    wanted = {f"{Kind.CONFIRMED}:{visit_id}": visit_id for visit_id in visit_ids}
    query = select(facts.c.key, facts.c.at).where(facts.c.tenant == tenant, facts.c.key.in_(list(wanted)))
    return {wanted[row.key]: row.at for row in await connection.execute(query)}


async def _rated(connection: AsyncConnection, visit_ids: list[int]) -> set[int]:
    query = select(ratings.c.visit_id).where(ratings.c.visit_id.in_(visit_ids))
    return {row.visit_id for row in await connection.execute(query)}


async def _bookings(
    connection: AsyncConnection, tenant: str, people: set[str], since: datetime
) -> list[tuple[str, str, datetime]]:
    query = select(facts.c.person, facts.c.kind, facts.c.at).where(
        facts.c.tenant == tenant,
        facts.c.kind.in_([Kind.BOOKING, Kind.UPSELL]),
        facts.c.at > since,
        facts.c.person.in_(sorted(people)),
    )
    return [(row.person, row.kind, row.at) for row in await connection.execute(query)]


async def forget(engine: AsyncEngine, tenant: str, people: Sequence[str]) -> int:
    """A person's assignments and exposures, erased (their visits' exposures go with the visits too)."""
    async with engine.begin() as connection:
        removed = 0
        for table in (experiment_assignments, experiment_exposures):
            done = await connection.execute(delete(table).where(table.c.tenant == tenant, table.c.person.in_(people)))
            removed += int(done.rowcount or 0)
    return removed
