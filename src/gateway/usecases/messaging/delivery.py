"""One way out for a message meant for a person (a reminder, a notice, an offer, a robot's message): the
platform's window rule, an approved template once the window is closed, the person's other conversations
when this one cannot take it, and SMS last. It returns one outcome and leaves what the outcome means
(noted, counted, retried) to the caller; who may be written to at all (a stop, quiet hours) is decided
before it is called."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import (
    Channel,
    ConsentAnswer,
    CredentialsRejected,
    OptedOut,
    Recipient,
    Reply,
    Sender,
    SendError,
    SendRejected,
    SendRetryable,
    Template,
    Unreachable,
    WindowClosed,
)
from gateway.store import crm_links
from gateway.store.conversations import load_dialogue, load_link, mark_unreachable
from gateway.usecases.people.consent import NO_VERSION, ConsentBook, Person

logger = logging.getLogger("gateway.usecases.messaging.delivery")


class Outcome(StrEnum):
    SENT = "sent"
    TEMPLATE = "template"  # the window was closed; the approved template went instead
    UNREACHABLE = "unreachable"  # the person blocked the bot
    WINDOW_CLOSED = "window_closed"
    REJECTED = "rejected"
    CREDENTIALS = "credentials_rejected"  # the channel's token: down for the whole tenant
    OPTED_OUT = "opted_out"  # the platform says the person stopped the business's messages
    POSTPONED = "postponed"  # the platform asked to wait: nothing went, for certain


DELIVERED = frozenset({Outcome.SENT, Outcome.TEMPLATE})
# Not taken by this conversation, for certain: the person's other conversations may take it.
UNDELIVERED = frozenset({Outcome.UNREACHABLE, Outcome.WINDOW_CLOSED, Outcome.REJECTED, Outcome.CREDENTIALS})


@dataclass(frozen=True)
class Address:
    """A conversation as a message reaches it."""

    conversation: str
    channel: str
    chat_id: str
    reply_phone: str | None = None  # the number the platform says the client writes from (WhatsApp)


@dataclass(frozen=True)
class Message:
    reply: Reply  # what goes while the window is open
    template: Template | None = None  # what may go once it is closed (WhatsApp); None: nothing then
    sms: str | None = None  # the text for SMS, the last resort; None: never by SMS
    sms_to: str | None = None  # the number it goes to: one the person gave themselves
    pace: bool = False  # one of a burst (reminders): spaced under the platform's rate


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    detail: str
    address: Address  # where it went (SMS: the SMS channel), or the first place tried
    retry_after: timedelta | None = None  # POSTPONED: how long the platform asked to wait

    @property
    def delivered(self) -> bool:
        return self.outcome in DELIVERED


@dataclass(frozen=True)
class Outbox:
    """What delivery needs for one tenant (the composition root and the callers build it)."""

    tenant: str
    portal: str  # whose CRM contact ids the fallback follows
    redis: Redis
    engine: AsyncEngine | None  # the business store: a platform's stop is kept there
    tz: tzinfo
    sender_of: Callable[[str], Sender]  # channel -> the tenant's sender
    sms: bool  # the tenant has an SMS provider
    wait_turn: Callable[[str], Awaitable[None]] | None = None  # the pace of a burst, per tenant and channel
    queue_crm_sync: Callable[[str], Awaitable[None]] | None = None


async def deliver(out: Outbox, to: Address | None, message: Message, now: datetime) -> Delivery:
    """Send `message` to `to`, else to the person's other conversations, else by SMS; the first place's
    outcome when none took it. `to` None: the person has no conversation the platforms vouch for, SMS only."""
    sms_address = Address(to.conversation if to else "", Channel.SMS.value, message.sms_to or "", message.sms_to)
    if to is None:
        by_sms = await _by_sms(out, sms_address, message)
        return by_sms or Delivery(Outcome.REJECTED, "no conversation and no SMS", sms_address)
    first = await _attempt(out, to, message, now)
    if first.outcome not in UNDELIVERED:
        return first
    for other in await other_addresses(out, to.conversation):
        taken = await _attempt(out, other, message, now)
        if taken.delivered:
            return replace(taken, detail=f"via {other.channel} ({to.channel}: {first.outcome}, {first.detail})")
    by_sms = await _by_sms(out, sms_address, message)
    if by_sms is not None:
        return replace(by_sms, detail=f"via sms ({to.channel}: {first.outcome}, {first.detail})")
    return first


async def address_of(redis: Redis, conversation: str) -> Address | None:
    """A conversation's address as Redis holds it (None once it has expired)."""
    state = await load_dialogue(redis, conversation)
    if state is None:
        return None
    return Address(conversation, state.channel.value, state.chat_id, state.channel_phone)


async def other_addresses(out: Outbox, conversation: str) -> list[Address]:
    """The person's other conversations (the same CRM contact on another channel) in a stable order. Only
    where the platforms vouch for the same phone on both sides: a CRM contact is matched by a typed phone
    too, and a stranger who typed the client's number must not receive her messages."""
    own = await load_dialogue(out.redis, conversation)
    vouched = own.vouched_phone if own is not None else None
    link = await load_link(out.redis, conversation)
    if link.contact_id is None or vouched is None:
        return []
    found = []
    for other in await crm_links.contact_conversations(out.redis, f"{out.tenant}@{out.portal}", link.contact_id):
        state = await load_dialogue(out.redis, other) if other != conversation else None
        if state is not None and not state.unreachable and state.vouched_phone == vouched:
            found.append(Address(other, state.channel.value, state.chat_id, state.channel_phone))
    return found


async def _attempt(out: Outbox, to: Address, message: Message, now: datetime) -> Delivery:
    sender = out.sender_of(to.channel)
    recipient = Recipient(to.chat_id, to.reply_phone)
    state = await load_dialogue(out.redis, to.conversation)
    if state is not None and state.unreachable:
        return Delivery(Outcome.UNREACHABLE, "the client has blocked the bot", to)
    last = state.last_inbound_at if state is not None else None
    if message.pace and out.wait_turn is not None:
        await out.wait_turn(f"{out.tenant}:{to.channel}")
    try:
        if sender.window is not None and (last is None or now - last > sender.window):
            # outside the platform's window only an approved template may go (WhatsApp); else nothing
            if message.template is not None and await sender.send_template(recipient, message.template):
                return Delivery(Outcome.TEMPLATE, message.template.name, to)
            return Delivery(Outcome.WINDOW_CLOSED, "the platform's 24-hour window is closed and no template is set", to)
        await sender.send(recipient, message.reply)
    except SendRetryable as exc:
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        return Delivery(Outcome.POSTPONED, str(exc), to, retry_after=wait)
    except Unreachable as exc:
        await mark_unreachable(out.redis, to.conversation)
        return Delivery(Outcome.UNREACHABLE, str(exc), to)
    except OptedOut as exc:  # the platform's own stop (WhatsApp 131050) is the person's stop everywhere
        await _record_stop(out, to, state.vouched_phone if state is not None else None, str(exc), now)
        return Delivery(Outcome.OPTED_OUT, str(exc), to)
    except WindowClosed as exc:
        return Delivery(Outcome.WINDOW_CLOSED, str(exc), to)
    except CredentialsRejected as exc:
        return Delivery(Outcome.CREDENTIALS, str(exc), to)
    except SendRejected as exc:
        return Delivery(Outcome.REJECTED, str(exc), to)
    return Delivery(Outcome.SENT, "", to)


async def _by_sms(out: Outbox, to: Address, message: Message) -> Delivery | None:
    """The last resort, one segment where it fits; None when there is none or it failed."""
    if not out.sms or message.sms is None or not message.sms_to:
        return None
    try:
        await out.sender_of(Channel.SMS.value).send(Recipient(message.sms_to, message.sms_to), Reply(message.sms))
    except SendError as exc:  # not retried: it may have gone (a message the bot starts goes at most once)
        logger.warning("%s: by SMS failed: %s", to.conversation or "a message", exc)
        return None
    return Delivery(Outcome.SENT, "", to)


async def _record_stop(out: Outbox, to: Address, phone: str | None, why: str, now: datetime) -> None:
    if out.engine is None:
        return
    source = "whatsapp_131050" if to.channel == Channel.WHATSAPP.value else f"{to.channel}_opted_out"
    who = Person(out.tenant, to.conversation, to.channel, phone)
    await ConsentBook(out.engine, out.redis, out.tz).record(who, ConsentAnswer.STOP, why, NO_VERSION, source, now)
    if out.queue_crm_sync is not None:
        await out.queue_crm_sync(to.conversation)
