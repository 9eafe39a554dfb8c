"""A website form from someone the gateway has talked to on a messenger: the form named their Telegram,
VK or MAX, or gave a phone one of its conversations knows. A form is only a claim, so that conversation is
asked whether the request was theirs (form_answers takes the answer), as a message the bot starts: once,
at most one a day, outside quiet hours, never after a stop; whatever becomes of it is written on the
form's deal, so a manager knows to call when it could not go."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from domain import (
    Channel,
    ConsentAnswer,
    CredentialsRejected,
    InboundMessage,
    Recipient,
    Reply,
    Sender,
    SendError,
    SendRejected,
    SendRetryable,
    Unreachable,
    WindowClosed,
    conversation_parts,
)
from domain.addresses import PHONE, address
from gateway.store import budgets, keys
from gateway.store.conversations import (
    DialogueState,
    TimelineEntry,
    append_timeline,
    load_dialogue,
    reached_at,
    save_dialogue,
)
from gateway.store.sql import consents
from gateway.store.sql import visits as store
from gateway.usecases.conversation.form_answers import MARK, Reach, keep_question, note_on_form, question
from gateway.usecases.visits.replies import VisitReplies, service_label

logger = logging.getLogger("gateway.usecases.conversation.lead_reach")

MESSENGERS = frozenset({Channel.TELEGRAM, Channel.WHATSAPP, Channel.INSTAGRAM, Channel.VK, Channel.MAX})


class Outcome:
    SENT = "sent"
    REPLAYED = "replayed"
    STOPPED = "stopped"
    UNREACHABLE = "unreachable"
    WINDOW_CLOSED = "window_closed"
    REFUSED = "refused"
    GONE = "gone"  # the conversation is no longer known
    HELD = "held"  # quiet hours: held until they end
    REACHED_TODAY = "reached_today"  # another form's offer went to this client within the day
    NOBODY = "nobody"  # the form names no conversation the bot has


VkResolver = Callable[[str], Awaitable[str | None]]  # a VK screen name -> the person's numeric id
# Each VK screen name costs a call on the community's token, shared with its replies: a tenant's forms
# may look up this many a minute; past it a name is left unread (the form still makes its deal).
VK_LOOKUPS_PER_MINUTE = 20


async def _by_id(redis: Redis, tenant: str, entries: tuple[str, ...], resolve_vk: VkResolver | None) -> list[str]:
    """The addresses with VK screen names read as the ids the address book files VK people under."""
    found = []
    for entry in entries:
        kind, _, name = entry.partition(":")
        if kind == Channel.VK and not name.isdigit():
            person = None
            if resolve_vk is not None and await budgets.take_vk_lookup(redis, tenant, VK_LOOKUPS_PER_MINUTE):
                try:
                    person = await resolve_vk(name)
                except SendError as exc:  # VK away: the form's lead is not held up for it
                    logger.warning("a VK screen name could not be resolved: %s", exc)
            entry = address(Channel.VK, person) if person else ""
        found.append(entry)
    return [e for e in found if e]


async def find(ctx: ReachContext, job: Reach) -> str | None:
    """The conversation to reach a form's lead in: the addresses the form left first (the person chose
    them), then the phone; only on a messenger the tenant has configured."""
    app = ctx.visits.appointments
    left_ids = await _by_id(app.redis, app.tenant_id, job.left, ctx.resolve_vk)
    entries = [*left_ids, address(PHONE, job.phone)] if job.phone else left_ids
    found = await reached_at(app.redis, app.tenant_id, [e for e in entries if e])
    target = next((c for c in found if conversation_parts(c)[1] in ctx.channels), None)
    if target is None and job.phone:  # a conversation Redis has forgotten, still known by its visits
        known = await store.latest_on_a_messenger(app.engine, app.tenant_id, job.phone, sorted(ctx.channels))
        target = known.conversation if known is not None else None
    return target


async def plan(
    visits: VisitReplies,
    queue: Callable[[dict[str, Any], str, datetime | None], Awaitable[None]],  # store.queue.queue_reach
    state: DialogueState,
    event: InboundMessage,
    now: datetime,
) -> None:
    """Queue the look for a form's lead among the conversations the gateway knows: its own job, so the
    form's deal never waits for the address book or VK."""
    job = Reach(
        tenant=visits.appointments.tenant_id,
        form=state.conversation_key,
        form_event=event.dedupe_key,
        left=event.reach_at,
        service=state.service_ids[0] if state.service_ids else None,
        wished=state.time_start,
        phone=state.phone,
        name=state.name,
    )
    await queue(job.model_dump(mode="json"), f"{MARK}{job.form}:{job.form_event}", None)


def first_moment(visits: VisitReplies, now: datetime) -> datetime | None:
    """When the offer may go if not now: the end of the quiet hours that hold `now`."""
    quiet = visits.appointments.lifecycle.quiet()
    local = visits.appointments.local(now)
    return quiet.end_after(local) if quiet is not None and quiet.contains(local) else None


@dataclass(frozen=True)
class ReachContext:
    visits: VisitReplies
    sender_of: Callable[[str], Sender]
    queue_crm_sync: Callable[[str], Awaitable[None]]
    queue: Callable[[dict[str, Any], str, datetime | None], Awaitable[None]]  # store.queue.queue_reach
    channels: frozenset[str] = MESSENGERS  # the messengers the tenant has
    resolve_vk: VkResolver | None = None


async def reach(ctx: ReachContext, job: Reach, now: datetime) -> str:
    """Ask in the target conversation whether the form was the client's, or say on the form's deal why not."""
    app = ctx.visits.appointments
    if not job.target:  # the form's own job: whom it names is looked up here, not while its deal waits
        target = await find(ctx, job)
        if target is None:
            return Outcome.NOBODY
        job = job.model_copy(update={"target": target})
        logger.info("%s: a website form's lead is known in %s", job.form, target)
    if (later := first_moment(ctx.visits, now)) is not None:  # quiet hours: held until they end
        await ctx.queue(
            job.model_dump(mode="json"), f"{MARK}{job.form}:{job.form_event}:{int(later.timestamp())}", later
        )
        return Outcome.HELD
    async with app.redis.lock(keys.conversation_lock(job.target), timeout=60, blocking_timeout=60):
        state = await load_dialogue(app.redis, job.target) or await _from_visits(ctx, job)
        if state is None:
            return await _noted(ctx, job, Outcome.GONE, now)
        mark = f"{MARK}{job.form_event}"
        if mark in state.processed:
            return Outcome.REPLAYED
        refused = await _refusal(ctx, state, job, now)
        if refused is None and not await _first_today(ctx, job):
            refused = Outcome.REACHED_TODAY
        if refused is not None:
            return await _noted(ctx, job, refused, now)
        # Nothing of the form (its phone, its name) is attached to this client before they say it was theirs.
        await keep_question(ctx.visits, job)
        state.mark("processed", mark)  # claimed before the send: a crash after it never sends twice
        await save_dialogue(app.redis, state)
        outcome = await _send(ctx, state, question(ctx.visits, job), mark)
        await save_dialogue(app.redis, state)
    if outcome != Outcome.SENT:
        return await _noted(ctx, job, outcome, now)
    label = service_label(ctx.visits.dialogue, [job.service] if job.service else [])
    entry = TimelineEntry(
        key=mark, text=f"Бот спросил, оставлял ли клиент заявку с сайта ({label})", at=app.local(now), author="Бот"
    )
    await append_timeline(app.redis, job.target, entry)
    await ctx.queue_crm_sync(job.target)
    return await _noted(ctx, job, outcome, now, where=conversation_parts(job.target)[1])


async def _from_visits(ctx: ReachContext, job: Reach) -> DialogueState | None:
    """The conversation's address from its latest visit, when Redis no longer holds it."""
    app = ctx.visits.appointments
    visit = await store.latest_visit(app.engine, app.tenant_id, job.target)
    if visit is None or not visit.chat_id:
        return None
    return DialogueState(
        conversation_key=job.target,
        tenant=app.tenant_id,
        channel=Channel(visit.channel),
        chat_id=visit.chat_id,
        sender_id=visit.chat_id,
        phone=visit.phone,
        channel_phone=visit.reply_phone,
    )


# Anyone who knows a client's username, VK id or phone can post forms naming them: whatever is posted,
# the client hears from the bot about a form at most once a day.
FORM_REACH_SECONDS = 24 * 3600


async def _first_today(ctx: ReachContext, job: Reach) -> bool:
    """Claims the day's one form offer to this conversation for this form (a retry of it keeps it)."""
    redis, key = ctx.visits.appointments.redis, keys.form_reach_today(job.target)
    if await redis.set(key, job.form_event, nx=True, ex=FORM_REACH_SECONDS):
        return True
    claimed = await redis.get(key)
    return (claimed.decode() if isinstance(claimed, bytes) else claimed) == job.form_event


async def _refusal(ctx: ReachContext, state: DialogueState, job: Reach, now: datetime) -> str | None:
    app = ctx.visits.appointments
    people = [p for p in (job.phone, state.phone, job.target, job.form) if p]
    if await consents.standing_of(app.engine, app.tenant_id, people) == ConsentAnswer.STOP:
        return Outcome.STOPPED
    if state.unreachable:
        return Outcome.UNREACHABLE
    window = ctx.sender_of(state.channel.value).window
    if window is not None and (state.last_inbound_at is None or now - state.last_inbound_at > window):
        return Outcome.WINDOW_CLOSED  # no approved template offers slots: a manager calls instead
    return None


async def _send(ctx: ReachContext, state: DialogueState, reply: Reply, mark: str) -> str:
    try:
        to = Recipient(state.chat_id, state.channel_phone)
        await ctx.sender_of(state.channel.value).send(to, replace(reply, key=mark))
    except SendRetryable:
        state.processed.remove(mark)  # nothing went: the retry may send it
        await save_dialogue(ctx.visits.appointments.redis, state)
        raise
    except Unreachable:
        state.unreachable = True
        return Outcome.UNREACHABLE
    except WindowClosed:
        return Outcome.WINDOW_CLOSED
    except (CredentialsRejected, SendRejected) as exc:
        logger.warning("%s: the form's offer was refused: %s", state.conversation_key, exc)
        return Outcome.REFUSED
    return Outcome.SENT


NOTES = {
    Outcome.SENT: "Клиента спросили в {where}, в переписке, которую он уже вёл, его ли это заявка: ответ будет здесь",
    Outcome.STOPPED: "Клиент просил бота не писать ему: время не предложено, позвоните клиенту",
    Outcome.UNREACHABLE: "Клиент недоступен в мессенджере, где его знает бот: позвоните клиенту",
    Outcome.WINDOW_CLOSED: "Окно переписки в мессенджере закрыто: позвоните клиенту",
    Outcome.REFUSED: "Мессенджер не принял сообщение бота: позвоните клиенту",
    Outcome.GONE: "Переписка с клиентом больше не хранится: позвоните клиенту",
    Outcome.REACHED_TODAY: "Бот уже писал клиенту по заявке с сайта сегодня: не спрашивал снова, позвоните",
}


async def _noted(ctx: ReachContext, job: Reach, outcome: str, now: datetime, where: str = "") -> str:
    """The outcome on the form's deal's timeline."""
    await note_on_form(ctx.visits, ctx.queue_crm_sync, job, NOTES[outcome].format(where=where), now)
    logger.info("%s: the form's lead in %s: %s", job.form, job.target, outcome)
    return outcome
