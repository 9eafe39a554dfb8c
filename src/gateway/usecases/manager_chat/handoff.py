"""The bot hands a client over: the deal's responsible gets a to-do due `handoff.sla` later, counted in
opening hours; a manager's first reply in the line closes it, and how long it took is logged."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from redis.asyncio import Redis

from bitrix import methods
from bitrix.messageservice import OwnerType
from domain import after_open_time, conversation_parts
from gateway.store import facts, keys
from gateway.store.conversations import load_dialogue, load_link
from gateway.store.facts import Fact, Kind
from gateway.store.redis_result import result
from gateway.usecases.manager_chat.context import AppContext

logger = logging.getLogger("gateway.usecases.manager_chat.handoff")

KEEP_SECONDS = 30 * 24 * 3600


async def open_todo(ctx: AppContext, conversation: str, handed_at: datetime) -> str:
    if await result(ctx.redis.exists(keys.handoff(conversation))):
        return "open_already"
    deal_id = (await load_link(ctx.redis, conversation)).deal_id
    if deal_id is None:
        deal_id = await _deal_made_meanwhile(ctx, conversation, handed_at)
    if deal_id is None:
        logger.info("%s: handed over before its deal was made; the deal's sync opens the to-do", conversation)
        return "waits_for_deal"
    local = handed_at.astimezone(ctx.config.tz)
    due = after_open_time(local, ctx.config.bitrix.handoff.deadline(), ctx.config.opening_hours())
    deal = await ctx.crm.call(methods.CRM_DEAL_GET, {"id": deal_id})
    responsible = deal.get("ASSIGNED_BY_ID") if isinstance(deal, dict) else None
    params: dict[str, object] = {
        "ownerTypeId": OwnerType.DEAL,
        "ownerId": deal_id,
        "deadline": due.isoformat(timespec="seconds"),
        "title": "Ответить клиенту в чате",
        "description": f"Бот передал клиента менеджеру {local:%d.%m %H:%M}; ответьте в открытой линии.",
    }
    if responsible:
        params["responsibleId"] = responsible
    created = await ctx.crm.call(methods.CRM_ACTIVITY_TODO_ADD, params)
    todo = created.get("id") if isinstance(created, dict) else created
    record = {"todo": todo, "at": handed_at.isoformat(), "due": due.isoformat()}
    await result(ctx.redis.set(keys.handoff(conversation), json.dumps(record), ex=KEEP_SECONDS))
    logger.info("%s: handed over; to-do %s for the deal %s due %s", conversation, todo, deal_id, due)
    return "opened"


async def _deal_made_meanwhile(ctx: AppContext, conversation: str, handed_at: datetime) -> int | None:
    """Leave the hand-off for the sync that makes the deal (however long the portal takes), unless the
    deal came between the two reads: whoever takes the waiting mark first opens the to-do, once."""
    await result(ctx.redis.set(keys.handoff_waiting(conversation), handed_at.isoformat(), ex=KEEP_SECONDS))
    deal_id = (await load_link(ctx.redis, conversation)).deal_id
    if deal_id is None or await take_waiting(ctx.redis, conversation) is None:
        return None
    return deal_id


async def take_waiting(redis: Redis, conversation: str) -> datetime | None:
    """A hand-off that waited for the deal the sync has just made: when it was handed (taken once)."""
    raw = await result(redis.getdel(keys.handoff_waiting(conversation)))
    if raw is None:
        return None
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)


async def close_todo(ctx: AppContext, conversation: str, manager: int) -> None:
    """A manager answered: the hand-off's to-do is done."""
    raw = await result(ctx.redis.get(keys.handoff(conversation)))
    if raw is None:
        return
    record = json.loads(raw)
    await ctx.crm.call(methods.CRM_ACTIVITY_UPDATE, {"id": record["todo"], "fields": {"COMPLETED": "Y"}})
    await result(ctx.redis.delete(keys.handoff(conversation)))
    now = ctx.clock()
    waited = (now - datetime.fromisoformat(record["at"])).total_seconds()
    late = now > datetime.fromisoformat(record["due"])
    logger.info(
        "%s: manager %s answered %.0f s after the hand-off%s",
        conversation,
        manager,
        waited,
        " (past the deadline)" if late else "",
    )
    if ctx.config.analytics:
        await facts.emit(ctx.redis, await _response_facts(ctx, conversation, manager, waited, late))


async def _response_facts(ctx: AppContext, conversation: str, manager: int, waited: float, late: bool) -> list[Fact]:
    """The manager's first response, in the owner's numbers by manager (and a missed deadline)."""
    state = await load_dialogue(ctx.redis, conversation)
    episode = state.episode if state is not None else 1
    lead = facts.lead_key(conversation, episode)
    channel = conversation_parts(conversation)[1]
    at = ctx.clock()

    def fact(kind: str, seconds: float | None = None) -> Fact:
        return Fact(
            key=f"{kind}:{lead}",
            kind=kind,
            tenant=ctx.tenant,
            at=at,
            lead=lead,
            channel=channel,
            manager=manager,
            seconds=seconds,
        )

    found = [fact(Kind.MANAGER_REPLY, round(waited, 1))]
    if late:
        found.append(fact(Kind.SLA_MISSED))
    return found
