"""A manager's message in the line reaches the client on their channel, once; the bot keeps quiet while a
manager leads the conversation, and speaks again when the dialog is finished or the manager falls silent."""

from __future__ import annotations

import logging
from dataclasses import replace

from bitrix import methods
from bitrix.openlines import DialogFinished, ManagerMessage, plain_text
from domain import Channel, Reply, SendRetryable
from gateway.store import keys
from gateway.store.redis_result import result
from gateway.usecases.manager_chat.context import AppContext
from gateway.usecases.manager_chat.handoff import close_todo
from gateway.usecases.manager_chat.install import CHANNEL_OF
from gateway.usecases.manager_chat.mirror import echo_digest, remember_chat
from gateway.usecases.messaging import delivery
from gateway.usecases.messaging.delivery import Message, Outcome, address_of

logger = logging.getLogger("gateway.usecases.manager_chat.replies")


def conversation_of(ctx: AppContext, connector: str, chat: str) -> tuple[Channel, str] | None:
    """The conversation a line's chat is, if the chat id is one this tenant's connector gave."""
    channel = CHANNEL_OF.get(connector)
    if channel is None or channel not in ctx.channels or not chat.startswith(channel.value + ":"):
        return None
    return channel, f"{ctx.tenant}:{chat}"


def client_text(message: ManagerMessage) -> str:
    text = plain_text(message.text)
    links = "\n".join(f"{name}: {link}" for name, link in message.files)
    return "\n".join(part for part in (text, links) if part)


async def deliver(ctx: AppContext, message: ManagerMessage) -> str:
    found = conversation_of(ctx, message.connector, message.chat)
    if found is None:
        logger.warning(
            "manager message %s for chat %r of %r: not a chat of ours",
            message.message_id,
            message.chat,
            message.connector,
        )
        return "not_ours"
    channel, conversation = found
    await remember_chat(ctx, message.im_chat_id, conversation)
    text = client_text(message)
    if not text:
        await _delivered(ctx, message)
        return "empty"
    echo = keys.echo(conversation, echo_digest(message.text))
    if await result(ctx.redis.delete(echo)):  # the bot's own message, handed back: never sent to the client
        await _delivered(ctx, message)
        return "echo"
    sent_key = keys.manager_sent(ctx.tenant, message.message_id)
    if await result(ctx.redis.exists(sent_key)):  # delivered before (a re-delivered event, a retry)
        await _delivered(ctx, message)
        return "replayed"
    to = await address_of(ctx.redis, conversation)
    if to is None:
        return await _not_delivered(ctx, message, "переписка с клиентом не найдена (возможно, данные удалены)")
    # the one way out: the window rule, then the client's other conversations the platforms vouch are
    # theirs; sent by the channels' own senders (the manager's words are in the line already)
    outbox = replace(ctx.outbox, sender_of=lambda name: ctx.sender_of(Channel(name)), wait_turn=None)
    reply = Reply(text=text, key=f"manager:{message.message_id}")
    sent = await delivery.deliver(outbox, to, Message(reply), ctx.clock())
    if sent.outcome == Outcome.POSTPONED:  # nothing went: the job is retried
        raise SendRetryable(sent.detail, sent.retry_after.total_seconds() if sent.retry_after else None)
    if not sent.delivered:
        why = WHY_NOT.get(sent.outcome, "платформа отказала: {detail}")
        return await _not_delivered(ctx, message, why.format(channel=channel.value, detail=sent.detail[:200]))
    if sent.address.conversation != conversation:
        await _say(ctx, message, f"Доставлено клиенту в {sent.address.channel}: в {channel.value} не доставить")
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.set(sent_key, 1, ex=keys.MANAGER_SENT_SECONDS)
        # the bot keeps quiet from now until the dialog is finished or the manager is quiet this long
        pipe.set(
            keys.manager_holds(conversation), message.user_id, ex=int(ctx.config.bitrix.handoff.quiet().total_seconds())
        )
        await pipe.execute()
    await _delivered(ctx, message)
    await close_todo(ctx, conversation, message.user_id)
    logger.info("%s: manager %s's message %s delivered", conversation, message.user_id, message.message_id)
    return "sent"


async def finish(ctx: AppContext, finished: DialogFinished) -> str:
    """The manager closed the dialog: the bot answers the client again."""
    conversation = await _finished_conversation(ctx, finished)
    if conversation is None:
        return "not_ours"
    await result(ctx.redis.delete(keys.manager_holds(conversation)))
    logger.info("%s: the manager finished the dialog; the bot answers again", conversation)
    return "done"


async def _finished_conversation(ctx: AppContext, finished: DialogFinished) -> str | None:
    """The line's chat we mirrored into, else the connector's chat id when it is one of ours."""
    for im_chat_id in (finished.im_chat_id, *finished.also):
        if im_chat_id:
            known = await result(ctx.redis.get(keys.line_chat(ctx.tenant, im_chat_id)))
            if known is not None:
                return str(known.decode())
    ours = conversation_of(ctx, finished.connector, finished.external) if finished.external else None
    return ours[1] if ours is not None else None


async def _delivered(ctx: AppContext, message: ManagerMessage) -> None:
    """Marks the message delivered (and read) in the line, which also stops the manager's spinner."""
    await ctx.crm.call(
        methods.IMCONNECTOR_SEND_STATUS_DELIVERY,
        {
            "CONNECTOR": message.connector,
            "LINE": message.line or await ctx.line(),
            "MESSAGES": [
                {
                    "im": {"chat_id": message.im_chat_id, "message_id": message.message_id},
                    "message": {"id": [f"manager:{message.message_id}"], "date": int(ctx.clock().timestamp())},
                    "chat": {"id": message.chat},
                }
            ],
        },
    )


WHY_NOT = {
    Outcome.UNREACHABLE: "клиент заблокировал бота или удалил чат",
    Outcome.WINDOW_CLOSED: "клиент писал больше 24 часов назад; платформа разрешает только одобренный шаблон",
    Outcome.CREDENTIALS: "токен канала {channel} отклонён; проверьте настройки",
    Outcome.OPTED_OUT: "клиент отказался от сообщений компании в {channel}",
}


async def _not_delivered(ctx: AppContext, message: ManagerMessage, why: str) -> str:
    """Said in the line's chat, where the manager is looking (there is no "failed" delivery status)."""
    logger.warning("manager message %s not delivered: %s", message.message_id, why)
    await _say(ctx, message, f"⚠ Не доставлено клиенту: {why}")
    return "not_delivered"


async def _say(ctx: AppContext, message: ManagerMessage, text: str) -> None:
    """A system line in the manager's chat."""
    await ctx.crm.call(
        methods.IM_MESSAGE_ADD, {"DIALOG_ID": f"chat{message.im_chat_id}", "MESSAGE": text, "SYSTEM": "Y"}
    )
