"""Who is who in the portal: a client's contact id, and the conversation behind a deal id."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from gateway.store import keys


async def person_contact(redis: Redis, tenant: str, channel: str, sender_id: str) -> str | None:
    raw = await redis.get(keys.person_contact(tenant, channel, sender_id))
    return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)


def person_writes(pipe: Pipeline, tenant: str, channel: str, sender_id: str, contact_id: int) -> None:
    """The person's contact id, remembered in the caller's transaction."""
    pipe.set(keys.person_contact(tenant, channel, sender_id), str(contact_id), ex=keys.CONVERSATION_TTL_SECONDS)


async def forget_person(redis: Redis, tenant: str, channel: str, sender_id: str) -> None:
    await redis.delete(keys.person_contact(tenant, channel, sender_id))


async def deal_conversation(redis: Redis, tenant: str, deal_id: int) -> str | None:
    raw = await redis.get(keys.deal_conversation(tenant, deal_id))
    return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)


def deal_writes(pipe: Pipeline, tenant: str, deal_id: int, conversation: str) -> None:
    """The conversation behind a deal id (for reminders and portal events), in the caller's transaction."""
    pipe.set(keys.deal_conversation(tenant, deal_id), conversation, ex=keys.CONVERSATION_TTL_SECONDS)


async def forget_deal(redis: Redis, tenant: str, deal_id: int) -> None:
    await redis.delete(keys.deal_conversation(tenant, deal_id))


async def remember_contact_conversation(redis: Redis, scope: str, contact_id: int, conversation: str) -> None:
    """The conversations a contact has (one per channel the person wrote on): a message the bot starts
    that one channel cannot take is tried on the others."""
    key = keys.contact_conversations(scope, contact_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.sadd(key, conversation)
        pipe.expire(key, keys.CONVERSATION_TTL_SECONDS)
        await pipe.execute()


async def contact_conversations(redis: Redis, scope: str, contact_id: int) -> list[str]:
    members = await redis.smembers(keys.contact_conversations(scope, contact_id))  # type: ignore[misc]
    return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
