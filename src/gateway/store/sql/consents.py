"""The consent evidence of a tenant's clients: appended, never updated; read back as a person's standing
and exported as CSV for a regulator or a court."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import ConsentAnswer, standing
from gateway.store.sql.schema import consents


@dataclass(frozen=True)
class ConsentRecord:
    tenant: str
    person: str
    conversation: str
    channel: str
    answer: ConsentAnswer
    text: str
    text_version: str
    source: str
    at: datetime


def person_of(phone: str | None, conversation: str) -> str:
    """Who a person is across channels: their phone once known, else the one conversation."""
    return phone or conversation


async def record(engine: AsyncEngine, entry: ConsentRecord) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            consents.insert().values(
                tenant=entry.tenant,
                person=entry.person,
                conversation=entry.conversation,
                channel=entry.channel,
                answer=entry.answer.value,
                text=entry.text,
                text_version=entry.text_version,
                source=entry.source,
                at=entry.at,
            )
        )


def _of(tenant: str, people: Sequence[str]):  # type: ignore[no-untyped-def]
    wanted = [p for p in people if p]
    return (consents.c.tenant == tenant) & or_(consents.c.person.in_(wanted), consents.c.conversation.in_(wanted))


async def standing_of(engine: AsyncEngine, tenant: str, people: Sequence[str]) -> ConsentAnswer | None:
    """The latest yes, no or stop of whoever these keys (phone, conversations) name."""
    query = select(consents.c.answer).where(_of(tenant, people)).order_by(consents.c.at, consents.c.id)
    async with engine.connect() as connection:
        return standing(ConsentAnswer(row.answer) for row in await connection.execute(query))


async def was_asked(engine: AsyncEngine, tenant: str, people: Sequence[str]) -> bool:
    """Anything on record for this person: the question is asked once."""
    query = select(consents.c.id).where(_of(tenant, people)).limit(1)
    async with engine.connect() as connection:
        return (await connection.execute(query)).first() is not None


async def last_question(engine: AsyncEngine, tenant: str, people: Sequence[str]) -> tuple[str, str] | None:
    """(text, version) of the question last shown to this person: what a yes or no answers."""
    query = (
        select(consents.c.text, consents.c.text_version)
        .where(_of(tenant, people), consents.c.answer == ConsentAnswer.ASKED.value)
        .order_by(consents.c.at.desc(), consents.c.id.desc())
        .limit(1)
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return (row.text, row.text_version) if row is not None else None


async def export(engine: AsyncEngine, tenant: str) -> list[ConsentRecord]:
    query = select(consents).where(consents.c.tenant == tenant).order_by(consents.c.at, consents.c.id)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [
        ConsentRecord(
            tenant=row["tenant"],
            person=row["person"],
            conversation=row["conversation"],
            channel=row["channel"],
            answer=ConsentAnswer(row["answer"]),
            text=row["text"],
            text_version=row["text_version"],
            source=row["source"],
            at=row["at"],
        )
        for row in rows
    ]


async def forget(engine: AsyncEngine, tenant: str, people: Sequence[str]) -> int:
    async with engine.begin() as connection:
        removed = await connection.execute(delete(consents).where(_of(tenant, people)))
        return int(removed.rowcount or 0)


async def prune(engine: AsyncEngine, before: datetime) -> int:
    """Records older than `before` that a later one of the same kind superseded. The latest of each kind
    per person stays until the person is forgotten, so an old stop or yes keeps deciding."""
    latest = select(func.max(consents.c.id)).group_by(consents.c.tenant, consents.c.person, consents.c.answer)
    async with engine.begin() as connection:
        kept = [row[0] for row in await connection.execute(latest)]
        removed = await connection.execute(delete(consents).where(consents.c.at < before, consents.c.id.not_in(kept)))
        return int(removed.rowcount or 0)
