"""Bitrix24 never sends an event again: every open chat's newest messages are read back, and a manager's
message with no delivery yet is queued as if its event had come (the same once-key, so never twice)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bitrix import methods
from bitrix.openlines import ManagerMessage, chat_messages
from gateway.store import keys
from gateway.store.redis_result import result
from gateway.usecases.manager_chat.context import AppContext
from gateway.usecases.manager_chat.install import connector_of
from gateway.usecases.manager_chat.mirror import BOT_MARK, chat_id

logger = logging.getLogger("gateway.usecases.manager_chat.reconcile")

OPEN_FOR = timedelta(hours=24)  # a chat quiet this long is no longer looked at
LOOK_BACK = 20  # messages read a chat: more than a manager writes between two looks

QueueReply = Callable[[ManagerMessage], Awaitable[bool]]  # True when newly queued


async def reconcile(ctx: AppContext, queue_reply: QueueReply) -> int:
    """Queue the manager messages of open chats that no event brought; how many were queued."""
    now = ctx.clock().timestamp()
    await result(ctx.redis.zremrangebyscore(keys.open_chats(ctx.tenant), "-inf", now - OPEN_FOR.total_seconds()))
    chats = [int(c) for c in await result(ctx.redis.zrange(keys.open_chats(ctx.tenant), 0, -1))]
    # read side by side: the batcher puts up to 50 of these reads in one request
    return sum(await asyncio.gather(*(_chat(ctx, chat, queue_reply) for chat in chats)))


async def _chat(ctx: AppContext, chat: int, queue_reply: QueueReply) -> int:
    raw_conversation = await result(ctx.redis.get(keys.line_chat(ctx.tenant, chat)))
    if raw_conversation is None:
        return 0
    conversation = raw_conversation.decode()
    connector = connector_of(conversation)
    if connector is None:
        return 0
    answer: Any = await ctx.crm.call(methods.IM_DIALOG_MESSAGES_GET, {"DIALOG_ID": f"chat{chat}", "LIMIT": LOOK_BACK})
    client = await result(ctx.redis.get(keys.chat_client_user(ctx.tenant, chat)))
    seen = int(await result(ctx.redis.get(keys.chat_examined(ctx.tenant, chat))) or 0)
    queued, newest = 0, seen
    for message in chat_messages(answer):
        newest = max(newest, message.id)
        if message.id <= seen or message.author_id == 0 or (client and message.author_id == int(client)):
            continue
        if message.text.startswith(BOT_MARK):  # the bot's own, posted on a user's behalf
            continue
        missed = ManagerMessage(
            connector=connector,
            line=await ctx.line(),
            chat=chat_id(conversation),
            im_chat_id=chat,
            message_id=message.id,
            user_id=message.author_id,
            text=message.text,
        )
        if await queue_reply(missed):
            queued += 1
            logger.warning("%s: manager message %s had no event; queued by reconciliation", conversation, message.id)
    await result(ctx.redis.set(keys.chat_examined(ctx.tenant, chat), newest, ex=keys.CONVERSATION_TTL_SECONDS))
    return queued
