"""Erase what the gateway holds on one person (152-FZ art. 21): their conversations' state, timeline and
links in Redis, and their visits, agenda, episodes and consent records in the business store. The CRM's
contact and deals are the business's records: their ids are reported so an admin can clean them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store import job_traces, keys
from gateway.store.conversations import DialogueState, load_link
from gateway.store.redis_result import result
from gateway.store.sql import analytics, consents, episodes, experiments, waitlist
from gateway.store.sql import visits as visit_store
from qualifier.phone import normalize_phone


@dataclass
class Erased:
    phone: str
    conversations: list[str] = field(default_factory=list)
    redis_keys: int = 0
    visits: int = 0
    episodes: int = 0
    consents: int = 0
    facts: int = 0
    experiments: int = 0  # assignments and exposures
    waitlist: int = 0  # places in the line
    job_traces: int = 0  # finished jobs' results and parked jobs that named them
    append_only_file: str = "no file"  # what became of Redis's append-only file (store.job_traces)
    crm_contacts: set[int] = field(default_factory=set)
    crm_deals: set[int] = field(default_factory=set)


async def _text(redis: Redis, key: str) -> str | None:
    raw = await result(redis.get(key))
    return raw.decode() if isinstance(raw, bytes) else raw


async def _conversations_in_redis(redis: Redis, tenant: str, phone: str) -> set[str]:
    found: set[str] = set()
    async for key in redis.scan_iter(match=keys.dialogue(f"{tenant}:*"), count=500):
        raw = await _text(redis, key.decode() if isinstance(key, bytes) else key)
        if raw is None:
            continue
        state = DialogueState.model_validate_json(raw)
        if phone in (state.phone, state.channel_phone):
            found.add(state.conversation_key)
    return found


async def _drop(redis: Redis, pattern: str) -> int:
    dropped = 0
    async for key in redis.scan_iter(match=pattern, count=500):
        dropped += int(await result(redis.delete(key)))
    return dropped


async def _forget_conversation(redis: Redis, tenant: str, conversation: str, erased: Erased) -> None:
    link = await load_link(redis, conversation)
    raw = await _text(redis, keys.dialogue(conversation))
    state = DialogueState.model_validate_json(raw) if raw else None
    if link.contact_id is not None:
        erased.crm_contacts.add(link.contact_id)
        erased.redis_keys += await _drop(redis, keys.contact_conversations(f"{tenant}@*", link.contact_id))
    if link.deal_id is not None:
        erased.crm_deals.add(link.deal_id)
        erased.redis_keys += await _drop(redis, keys.deal_conversation(f"{tenant}@*", link.deal_id))
    if state is not None:
        erased.redis_keys += await _drop(
            redis, keys.person_contact(f"{tenant}@*", state.channel.value, state.sender_id)
        )
    own: list[Any] = [
        keys.dialogue(conversation),
        keys.crm_link(conversation),
        keys.timeline(conversation),
        keys.inbox(conversation),
        keys.llm_budget(conversation),
        keys.reply_budget(conversation),
        # app mode: the chat's log for the Open Line (what Bitrix24 itself holds is the portal's to erase)
        keys.chat_log(conversation),
        keys.chat_logged(conversation),
        keys.chat_mirrored(conversation),
        keys.manager_holds(conversation),
        keys.form_questions(conversation),  # the forms it was asked about: their phones and names
        keys.form_reach_today(conversation),
        keys.review_awaits(conversation),
    ]
    if state is not None:  # the address book's entries that lead to this conversation
        own += [keys.address(tenant, entry) for entry in state.addresses()]
    erased.redis_keys += int(await result(redis.delete(*own)))


async def forget_person(redis: Redis, engine: AsyncEngine | None, tenant: str, phone: str) -> Erased:
    """Everything held on the person with this phone, on every channel, erased; what it was."""
    phone = normalize_phone(phone) or phone
    erased = Erased(phone)
    found = await _conversations_in_redis(redis, tenant, phone)
    if engine is not None:
        found |= await visit_store.conversations_of_phone(engine, tenant, phone)
    erased.conversations = sorted(found)
    for conversation in erased.conversations:
        await _forget_conversation(redis, tenant, conversation, erased)
    if engine is not None:
        erased.visits = await visit_store.forget_person(engine, tenant, erased.conversations, phone)
        erased.episodes = await episodes.forget(engine, tenant, erased.conversations)
        erased.consents = await consents.forget(engine, tenant, [phone, *erased.conversations])
        erased.facts = await analytics.forget(engine, tenant, phone, erased.conversations)
        erased.experiments = await experiments.forget(engine, tenant, [phone, *erased.conversations])
        erased.waitlist = await waitlist.forget(engine, tenant, erased.conversations, phone)
    erased.job_traces = await job_traces.erase_person(redis, tenant, set(erased.conversations), phone)
    erased.append_only_file = await job_traces.rewrite_append_only_file(redis)
    return erased
