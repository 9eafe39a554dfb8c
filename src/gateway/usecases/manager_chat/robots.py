"""A message Bitrix24 sends through the app's provider (a robot, a workflow, a manager's "send SMS" in a
card) reaches the person in the messenger they write from, by SMS last, like a reminder: once, never in
quiet hours, never after a stop. Its status goes back to Bitrix24, which shows it on the card."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime

from bitrix import methods
from bitrix.messageservice import OwnerType, ProviderMessage, Status
from domain import ConsentAnswer, Purpose, Reply, SendRetryable
from gateway.settings.lifecycle import LifecycleConfig
from gateway.store import crm_links, keys
from gateway.store.conversations import TimelineEntry, append_timeline, load_dialogue, load_link
from gateway.store.redis_result import result
from gateway.usecases.manager_chat.context import AppContext
from gateway.usecases.manager_chat.install import PROVIDER_CODE
from gateway.usecases.messaging.delivery import Address, Delivery, Message, Outcome, deliver
from gateway.usecases.people.consent import ConsentBook
from qualifier.phone import mask_phone, normalize_phone

logger = logging.getLogger("gateway.usecases.manager_chat.robots")

CLAIM_SECONDS = 30 * 24 * 3600


class Done:
    SENT = "sent"
    SMS = "sms"
    HELD = "held"  # quiet hours: it goes when they end
    STOPPED = "stopped"  # the person said stop
    NOT_DELIVERED = "not_delivered"
    REPLAYED = "replayed"


async def send(ctx: AppContext, message: ProviderMessage) -> str:
    phone = normalize_phone(message.to) or message.to
    claim = keys.provider_message(ctx.tenant, message.message_id)
    if await result(ctx.redis.exists(claim)):
        return Done.REPLAYED
    now = ctx.clock()
    addresses = await vouched_conversations(ctx, message, phone)
    people = [phone, *(a.conversation for a in addresses)]
    book = ConsentBook(ctx.outbox.engine, ctx.redis, ctx.config.tz) if ctx.outbox.engine is not None else None
    if book is not None and await book.standing(ctx.tenant, people) == ConsentAnswer.STOP:
        await _claim(ctx, claim)
        await _report(ctx, message, Status.UNDELIVERED)
        await _note(ctx, addresses, message, "не отправлено: клиент просил не писать ему", now)
        return Done.STOPPED
    if (later := _after_quiet_hours(ctx, now)) is not None:
        await hold(ctx, message, later)
        await _report(ctx, message, Status.QUEUED)
        return Done.HELD
    if not await result(ctx.redis.set(claim, 1, nx=True, ex=CLAIM_SECONDS)):
        return Done.REPLAYED  # another worker took it
    reply = Reply(message.text, key=f"b24sms:{message.message_id}", initiated=Purpose.TRANSACTIONAL.value)
    sent = await deliver(
        ctx.outbox, addresses[0] if addresses else None, Message(reply, sms=message.text, sms_to=phone), now
    )
    if sent.outcome == Outcome.POSTPONED:  # nothing went: the job is retried
        await result(ctx.redis.delete(claim))
        raise SendRetryable(sent.detail, sent.retry_after.total_seconds() if sent.retry_after else None)
    return await _finish(ctx, message, addresses, sent, now)


async def _finish(
    ctx: AppContext, message: ProviderMessage, addresses: list[Address], sent: Delivery, now: datetime
) -> str:
    masked = mask_phone(normalize_phone(message.to) or message.to)
    if not sent.delivered:
        await _report(ctx, message, Status.UNDELIVERED)
        await _note(ctx, addresses, message, f"не доставлено ({sent.outcome}): позвоните клиенту", now)
        logger.warning("provider message %s to %s not delivered: %s", message.message_id, masked, sent.outcome)
        return Done.NOT_DELIVERED
    by_sms = sent.address.channel == "sms"
    # a messenger's accepted message is in the person's chat; an SMS provider's acceptance is only "sent"
    await _report(ctx, message, Status.SENT if by_sms else Status.DELIVERED)
    logger.info("provider message %s to %s went by %s", message.message_id, masked, sent.address.channel)
    if by_sms:
        return Done.SMS
    await _note(ctx, [sent.address], message, f"отправлено в {sent.address.channel}", now)
    return Done.SENT


async def vouched_conversations(ctx: AppContext, message: ProviderMessage, phone: str) -> list[Address]:
    """The conversations of the card's deal and contact in which the platform vouches for this very phone,
    the one the person wrote in last first: a number typed by someone else steers nothing here."""
    conversations: set[str] = set()
    scope = f"{ctx.tenant}@{ctx.outbox.portal}"
    for kind, owner in message.bindings:
        if kind == OwnerType.DEAL and (found := await crm_links.deal_conversation(ctx.redis, scope, owner)):
            conversations.add(found)
            contact = (await load_link(ctx.redis, found)).contact_id
            if contact is not None:
                conversations.update(await crm_links.contact_conversations(ctx.redis, scope, contact))
        elif kind == OwnerType.CONTACT:
            conversations.update(await crm_links.contact_conversations(ctx.redis, scope, owner))
    found_states = []
    for conversation in sorted(conversations):
        state = await load_dialogue(ctx.redis, conversation)
        if state is not None and not state.unreachable and state.vouched_phone == phone:
            found_states.append(state)
    found_states.sort(key=lambda s: s.last_inbound_at or datetime.min.replace(tzinfo=ctx.config.tz), reverse=True)
    return [Address(s.conversation_key, s.channel.value, s.chat_id, s.channel_phone) for s in found_states]


def _after_quiet_hours(ctx: AppContext, now: datetime) -> datetime | None:
    """When quiet hours (the lifecycle's, else the default 21:00-09:00) end, if `now` is inside them."""
    lifecycle = ctx.config.lifecycle or LifecycleConfig()
    quiet = lifecycle.quiet()
    local = now.astimezone(ctx.config.tz)
    return quiet.end_after(local) if quiet is not None and quiet.contains(local) else None


async def hold(ctx: AppContext, message: ProviderMessage, until: datetime) -> None:
    entry = json.dumps(asdict(message), sort_keys=True, ensure_ascii=False)
    await result(ctx.redis.zadd(keys.provider_held(ctx.tenant), {entry: until.timestamp()}))


async def release(ctx: AppContext, queue: Callable[[ProviderMessage], Awaitable[bool]]) -> int:
    """Queue the held messages whose quiet hours are over (run by the app's cron); a crash between the
    two steps queues one again, which its message id drops."""
    key = keys.provider_held(ctx.tenant)
    due = await result(ctx.redis.zrangebyscore(key, "-inf", ctx.clock().timestamp(), start=0, num=100))
    for raw in due:
        fields = json.loads(raw)
        await queue(ProviderMessage(**{**fields, "bindings": tuple(tuple(b) for b in fields.get("bindings", ()))}))
        await result(ctx.redis.zrem(key, raw))
    return len(due)


async def _claim(ctx: AppContext, claim: str) -> None:
    await result(ctx.redis.set(claim, 1, ex=CLAIM_SECONDS))


async def _report(ctx: AppContext, message: ProviderMessage, status: Status) -> None:
    code = message.code or PROVIDER_CODE
    await ctx.crm.call(
        methods.MESSAGESERVICE_STATUS_UPDATE, {"CODE": code, "MESSAGE_ID": message.message_id, "STATUS": status.value}
    )


async def _note(ctx: AppContext, addresses: list[Address], message: ProviderMessage, what: str, now: datetime) -> None:
    """On the deal of the conversation it went to (or would have): managers see the robot's message there."""
    if not addresses:
        return
    conversation = addresses[0].conversation
    text = f"Сообщение робота Битрикс24 {what}: «{message.text[:200]}»"
    entry = TimelineEntry(key=f"b24sms:{message.message_id}", text=text, at=now.astimezone(ctx.config.tz), author="Бот")
    await append_timeline(ctx.redis, conversation, entry)
    if ctx.outbox.queue_crm_sync is not None:
        await ctx.outbox.queue_crm_sync(conversation)
