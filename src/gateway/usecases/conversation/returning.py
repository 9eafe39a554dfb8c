"""A client back after an hour's silence whose deal the portal has closed (won or lost) starts the next
episode: a new deal for the same contact; a running conversation reads nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

from domain import InboundMessage
from gateway.store import keys
from gateway.store.conversations import DialogueState, load_link, save_link
from gateway.store.redis_result import result
from gateway.usecases.conversation.context import ConversationContext

logger = logging.getLogger("gateway.usecases.conversation.returning")


async def new_episode_if_closed(ctx: ConversationContext, state: DialogueState, closed_deal: int | None = None) -> None:
    """A message after the conversation's deal was closed (won or lost) opens a new deal for the same
    contact; the closed one is never written to again. `closed_deal`: the deal the portal was just asked
    about and has at a final stage (a tenant without `lifecycle:`, whose link hears of no stage)."""
    key = state.conversation_key
    if closed_deal is None and not (await load_link(ctx.redis, key)).closed:
        return
    async with ctx.redis.lock(keys.crm_lock(key), timeout=120, blocking_timeout=130):  # the CRM sync's lock
        link = await load_link(ctx.redis, key)
        if not link.closed and (closed_deal is None or link.deal_id != closed_deal):
            return
        length = await result(ctx.redis.llen(keys.timeline(key)))
        await save_link(ctx.redis, key, link.next_episode(int(length)))
    state.start_episode(link.episode + 1)
    logger.info("%s: deal %s was closed; a new one is opened (episode %d)", key, link.deal_id, state.episode)


# Without `lifecycle:` the gateway follows no deal stages (no events, no poll): a client who writes after
# this long a silence has their deal's stage read once (one request) before their message is posted.
RETURNING_AFTER = timedelta(hours=1)


async def closed_in_portal(ctx: ConversationContext, state: DialogueState, event: InboundMessage) -> int | None:
    """The conversation's deal, if a manager closed it (won or lost) while the client was silent."""
    assert ctx.deal_closed is not None  # noqa: S101 - the caller checks
    if state.last_inbound_at is not None and event.received_at - state.last_inbound_at < RETURNING_AFTER:
        return None
    link = await load_link(ctx.redis, state.conversation_key)
    if link.deal_id is None or link.closed:  # none yet, or its closing is known already
        return None
    return link.deal_id if await ctx.deal_closed(link.deal_id) else None
