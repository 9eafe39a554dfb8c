"""A conversation's deals, one episode each, kept past Redis's 180 days: a client who comes back after
a year is still a returning client, and their new deal gets the next ORIGIN_ID."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.schema import episodes


async def record_episode(
    engine: AsyncEngine, *, tenant: str, conversation: str, portal: str, deal_id: int, now: datetime
) -> None:
    """The conversation's deal in this portal; recorded once per deal."""
    async with engine.begin() as connection:
        found = await connection.execute(
            select(episodes.c.id).where(
                episodes.c.tenant == tenant, episodes.c.portal == portal, episodes.c.deal_id == deal_id
            )
        )
        if found.first() is None:
            await connection.execute(
                episodes.insert().values(
                    tenant=tenant, conversation=conversation, portal=portal, deal_id=deal_id, opened_at=now
                )
            )


async def close_episode(
    engine: AsyncEngine, *, tenant: str, portal: str, deal_id: int, outcome: str, now: datetime
) -> None:
    statement = (
        update(episodes)
        .where(episodes.c.tenant == tenant, episodes.c.portal == portal, episodes.c.deal_id == deal_id)
        .values(closed_at=now, outcome=outcome)
    )
    async with engine.begin() as connection:
        await connection.execute(statement)


async def episodes_so_far(engine: AsyncEngine, tenant: str, conversation: str, portal: str) -> int:
    """How many deals the conversation has had in this portal."""
    query = select(func.count()).where(
        episodes.c.tenant == tenant, episodes.c.conversation == conversation, episodes.c.portal == portal
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


async def prune(engine: AsyncEngine, before: datetime) -> int:
    """Delete episodes opened before `before`: past that, a client counts as new again."""
    async with engine.begin() as connection:
        removed = await connection.execute(delete(episodes).where(episodes.c.opened_at < before))
        return int(removed.rowcount or 0)


async def forget(engine: AsyncEngine, tenant: str, conversations: list[str]) -> int:
    """Delete the episodes of these conversations (a person erased); how many."""
    if not conversations:
        return 0
    async with engine.begin() as connection:
        removed = await connection.execute(
            delete(episodes).where(episodes.c.tenant == tenant, episodes.c.conversation.in_(conversations))
        )
        return int(removed.rowcount or 0)
