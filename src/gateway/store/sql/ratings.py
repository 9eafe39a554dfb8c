"""Clients' ratings of their visits: one a visit, kept with a low score's answer and whether the manager's
to-do was made and holds that answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.engine import dialect_insert
from gateway.store.sql.schema import ratings


@dataclass(frozen=True)
class Rating:
    visit_id: int
    score: int
    at: datetime
    comment: str | None
    todo_id: int | None
    todo_has_comment: bool


async def rate(engine: AsyncEngine, tenant: str, visit_id: int, score: int, at: datetime) -> bool:
    """Keep the visit's rating; False when it was rated before (the first score stands)."""
    row = {"tenant": tenant, "visit_id": visit_id, "score": score, "at": at}
    statement = dialect_insert(engine)(ratings).values(row).on_conflict_do_nothing(index_elements=["visit_id"])
    async with engine.begin() as connection:
        done = await connection.execute(statement)
    return bool(done.rowcount)


async def rating_of(engine: AsyncEngine, visit_id: int) -> Rating | None:
    async with engine.connect() as connection:
        row = (await connection.execute(select(ratings).where(ratings.c.visit_id == visit_id))).first()
    if row is None:
        return None
    return Rating(row.visit_id, row.score, row.at, row.comment, row.todo_id, bool(row.todo_has_comment))


async def comment(engine: AsyncEngine, visit_id: int, text: str) -> None:
    """A low score's answer; the first one stands (a second message goes to the chat as usual)."""
    query = update(ratings).where(ratings.c.visit_id == visit_id, ratings.c.comment.is_(None)).values(comment=text)
    async with engine.begin() as connection:
        await connection.execute(query)


async def todo_made(engine: AsyncEngine, visit_id: int, todo_id: int, with_comment: bool) -> None:
    values = {"todo_id": todo_id, "todo_has_comment": int(with_comment)}
    async with engine.begin() as connection:
        await connection.execute(update(ratings).where(ratings.c.visit_id == visit_id).values(**values))
