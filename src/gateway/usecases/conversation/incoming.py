"""Handle one client message: update the dialogue, answer at once, queue the CRM sync."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from domain import (
    Channel,
    CredentialsRejected,
    InboundMessage,
    MessageKind,
    Recipient,
    Reply,
    SendError,
    SendRejected,
    SendRetryable,
    Unreachable,
    WindowClosed,
)
from gateway.store import budgets, inbox, keys
from gateway.store.conversation_hold import Held, hold
from gateway.store.conversations import DialogueState, TimelineEntry, load_link, record_message, save_dialogue
from gateway.store.job_format import JobFinish
from gateway.usecases.analytics import fact_log
from gateway.usecases.conversation import attribution as attribution_rules
from gateway.usecases.conversation.context import ConversationContext, ReplyOutcome
from gateway.usecases.conversation.returning import closed_in_portal, new_episode_if_closed
from gateway.usecases.conversation.understanding import (
    apply_button,
    apply_extraction,
    has_new_intent,
    new_state,
    timeline_text,
    written_at,
)
from gateway.usecases.people.consent import CONSENT_PREFIX
from gateway.usecases.visits.buttons import REVIEW_PREFIX
from qualifier.intent import open_question
from qualifier.optout import asks_to_resume, asks_to_stop
from qualifier.phone import normalize_phone

logger = logging.getLogger("gateway.usecases.conversation.incoming")


LOCK_SECONDS = 60  # longer than the job may run (50 s): the lock never lapses under a live handler


# Messages of one conversation are recorded in the order they were queued: a job whose earlier message
# is not recorded yet waits for it (up to 30 s a run, then it is retried), unless that one has waited
# for 3 minutes (its job parked or lost).
ORDER_POLL_SECONDS = 0.1


ORDER_POLLS = 300


ORDER_GIVE_UP_MS = 180_000


async def handle_message(
    ctx: ConversationContext,
    event: InboundMessage,
    now: datetime,
    on_recorded: Callable[[], Awaitable[None]],
    job: JobFinish | None = None,
) -> ReplyOutcome:
    """Record the message, decide the reply and deliver it; returns the delivery outcome.

    The message is recorded once and its reply decided once, whatever is retried: a delivery that
    fails transiently leaves the decided reply pending, and the retry only sends it. `on_recorded`
    runs before delivery (and again on a retry), so a channel that is down never holds up the CRM.
    `job`: the queue job handling it, ended in the same transaction as the conversation's last write.
    """
    key = event.conversation_key
    for _ in range(ORDER_POLLS):
        async with hold(ctx.redis, key, LOCK_SECONDS, LOCK_SECONDS) as held:  # lock, state, inbox: one trip
            state = held.state or new_state(event)
            if event.dedupe_key in state.processed:
                return ReplyOutcome.REPLAYED
            # recorded is enough: an earlier message whose reply waits on a channel that is down must not
            # hold this one back from the CRM
            earlier = await inbox.earlier_waiting(
                ctx.redis, key, held.inbox, event.dedupe_key, state.recorded, ORDER_GIVE_UP_MS
            )
            if earlier is None:
                return await _handle_in_order(ctx, held, state, event, now, on_recorded, job)
        await asyncio.sleep(ORDER_POLL_SECONDS)  # the earlier message's job holds or will take the lock
    raise SendRetryable(f"waiting for an earlier message of {key} to be recorded first", retry_after=1.0)


async def _handle_in_order(
    ctx: ConversationContext,
    held: Held,
    state: DialogueState,
    event: InboundMessage,
    now: datetime,
    on_recorded: Callable[[], Awaitable[None]],
    job: JobFinish | None,
) -> ReplyOutcome:
    throttled, about_person = False, False
    # A block, an unblock, an edit or a deletion is nothing the client said: it updates a conversation the
    # gateway has in the CRM (its note, reachability), and for one with nothing there yet it opens no deal
    # and no lead. Decided from the saved state, so a retry and a later event decide the same.
    to_crm = event.kind == MessageKind.MESSAGE or state.message_count > 0
    if event.dedupe_key not in state.recorded:
        if ctx.visits is not None and event.kind == MessageKind.MESSAGE:
            # «стоп» or a rating after a visit is not a new request: no new deal for it
            if _about_offers(event) or await _answers_rating(ctx, state, event):
                about_person = (await load_link(ctx.redis, state.conversation_key)).closed
            else:
                await new_episode_if_closed(ctx, state)
        elif ctx.deal_closed is not None and event.kind == MessageKind.MESSAGE:
            await new_episode_if_closed(ctx, state, await closed_in_portal(ctx, state, event))
        learned = await _update(state, event, ctx, now, on_timeline=to_crm)
        # An edit or revoke changes something already answered: recorded (and an edit learned from),
        # never answered again.
        if event.channel == Channel.FORM and ctx.on_form is not None:  # a known client: reached on a messenger
            await ctx.on_form(state, event, now)
        await _answer_or_hand_over(ctx, state, event, learned, now, to_crm)
        state.mark("recorded", event.dedupe_key)
        started = []
        if ctx.analytics and event.kind == MessageKind.MESSAGE and state.lead_episode != state.episode:
            state.lead_episode = state.episode
            started.append(fact_log.lead(state, event.received_at))
        entry = TimelineEntry(
            key=event.dedupe_key,
            text=timeline_text(event, state.intent),
            at=event.sent_at.astimezone(ctx.tenant.tz),
            on_contact=about_person,  # the closed deal is never written to again
        )
        # with its CRM sync queued, and the reply counted against the conversation's budget
        count_reply = event.dedupe_key in state.pending
        replies = await record_message(ctx.redis, state, entry, started, count_reply=count_reply, to_crm=to_crm)
        if replies > ctx.replies_per_minute:  # recorded and synced to the CRM, just not answered again
            state.pending.pop(event.dedupe_key, None)
            throttled = True
            logger.info("%s: reply skipped, over %d a minute", state.conversation_key, ctx.replies_per_minute)
    elif to_crm:
        await on_recorded()  # a retry: the sync may have run since; another one is harmless
    pending = state.pending.get(event.dedupe_key)
    outcome = ReplyOutcome.THROTTLED if throttled else ReplyOutcome.SENT
    if event.callback_id:  # stops the client's spinner, answered or not
        await _acknowledge(ctx, state, event.callback_id)
    replied = []
    if pending is not None:
        outcome = await _deliver(ctx, state, event.dedupe_key, now)
        if ctx.analytics and outcome == ReplyOutcome.SENT and state.replied_episode != state.episode:
            state.replied_episode = state.episode
            sent_at = ctx.clock()
            replied.append(fact_log.first_reply(state, sent_at, (sent_at - event.received_at).total_seconds()))
    state.pending.pop(event.dedupe_key, None)
    state.mark("processed", event.dedupe_key)
    await held.save_and_release(state, replied, job)
    return outcome


async def _answer_or_hand_over(
    ctx: ConversationContext, state: DialogueState, event: InboundMessage, learned: bool, now: datetime, to_crm: bool
) -> None:
    """Decide the bot's reply (a form has no chat to answer in), unless a manager leads the conversation;
    in app mode the message is also logged for the Open Line's chat (once, whatever is retried)."""
    if (
        event.kind == MessageKind.MESSAGE
        and event.channel != Channel.FORM
        and not await _manager_leads(ctx, state, event)
    ):
        handed_off = state.handed_off
        about_visit = await ctx.form_answers.reply(state, event, now) if ctx.form_answers is not None else None
        if about_visit is None and ctx.visits is not None:
            about_visit = await ctx.visits.reply(state, event, now)
        _decide_reply(ctx, state, event, learned, now, about_visit)
        if ctx.on_handoff is not None and state.handed_off and not handed_off:
            await ctx.on_handoff(state, now)
    if ctx.log_for_line is not None and to_crm:
        at = event.sent_at.astimezone(ctx.tenant.tz)
        await ctx.log_for_line(state, event.dedupe_key, timeline_text(event, state.intent), at, event.files)


async def _answers_rating(ctx: ConversationContext, state: DialogueState, event: InboundMessage) -> bool:
    """The client's words after «что пошло не так?» (a low rating): about the visit that was, not a new one."""
    if not event.text or event.button:
        return False
    return bool(await ctx.redis.exists(keys.review_awaits(state.conversation_key)))


async def _manager_leads(ctx: ConversationContext, state: DialogueState, event: InboundMessage) -> bool:
    """A manager answering in Bitrix24 leads the conversation: the bot does not answer the client's words
    meanwhile (a press on a reminder's or an offer's button is still handled)."""
    if ctx.manager_leads is None or event.button is not None:
        return False
    leads = await ctx.manager_leads(state.conversation_key)
    if leads:
        logger.info("%s: a manager leads the conversation; the bot keeps quiet", state.conversation_key)
    return leads


def _about_offers(event: InboundMessage) -> bool:
    """A stop, a resume, an answer to the consent question or a rating: about the person, not a new request."""
    if event.button:
        return event.button.startswith((CONSENT_PREFIX, REVIEW_PREFIX))
    return bool(event.text) and (asks_to_stop(event.text) or asks_to_resume(event.text))


def _decide_reply(
    ctx: ConversationContext,
    state: DialogueState,
    event: InboundMessage,
    learned: bool,
    now: datetime,
    about_visit: Reply | None = None,
) -> None:
    """Decide the reply and leave it pending (recording it counts it against the reply budget)."""
    intent = state.intent if has_new_intent(event) else "other"
    if about_visit is not None:
        reply = ctx.dialogue.greeted(state, about_visit)
    else:
        question = intent == "other" and bool(event.text) and open_question(event.text or "")
        reply = ctx.dialogue.next_reply(state, intent, learned, now.astimezone(ctx.tenant.tz), question=question)
    state.pending[event.dedupe_key] = reply


async def _deliver(ctx: ConversationContext, state: DialogueState, reply_to: str, now: datetime) -> ReplyOutcome:
    """Send the reply pending for message `reply_to` within the platform's customer-service window, or
    do what the window allows (an approved template, or nothing)."""
    reply = replace(state.pending[reply_to], key=f"reply:{reply_to}")
    to = Recipient(state.chat_id, state.channel_phone)
    if state.window_closed(ctx.sender.window, now):
        sent = await ctx.sender.send_outside_window(to, reply)
        logger.info("%s: window closed, %s", state.conversation_key, "template sent" if sent else "reply not sent")
        return ReplyOutcome.TEMPLATE if sent else ReplyOutcome.WINDOW_CLOSED
    try:
        await ctx.sender.send(to, reply)
    except SendRetryable as exc:
        if exc.parts_sent > reply.parts_sent:  # the retry sends only the pieces still missing
            state.pending[reply_to] = replace(reply, parts_sent=exc.parts_sent)
            await save_dialogue(ctx.redis, state)
        raise
    except CredentialsRejected as exc:
        logger.error("%s: channel credentials rejected: %s", state.conversation_key, exc)
        return ReplyOutcome.CREDENTIALS_REJECTED
    except Unreachable as exc:
        state.unreachable = True
        logger.warning("%s: the client has blocked the bot: %s", state.conversation_key, exc)
        return ReplyOutcome.REJECTED
    except WindowClosed as exc:
        logger.info("%s: the platform says the window is closed: %s", state.conversation_key, exc)
        return ReplyOutcome.WINDOW_CLOSED
    except SendRejected as exc:
        # The client can't be answered (bot blocked, token revoked...); the lead still reaches the CRM.
        logger.warning("%s: reply refused: %s", state.conversation_key, exc)
        return ReplyOutcome.REJECTED
    return ReplyOutcome.SENT


async def _acknowledge(ctx: ConversationContext, state: DialogueState, callback_id: str) -> None:
    """Stop the button's spinner. A refused or failed acknowledgement loses nothing: the press is
    answered all the same (the spinner stops by itself on the client's side)."""
    try:
        await ctx.sender.acknowledge_button(callback_id)
    except SendError as exc:
        logger.warning("%s: the button press was not acknowledged: %s", state.conversation_key, exc)


async def _update(
    state: DialogueState, event: InboundMessage, ctx: ConversationContext, now: datetime, *, on_timeline: bool
) -> bool:
    if on_timeline:  # counted whatever the kind: a block noted on a deal's timeline is on it
        state.message_count += 1
    if event.kind in (MessageKind.BLOCKED, MessageKind.UNBLOCKED):
        state.unreachable = event.kind == MessageKind.BLOCKED
        return False
    state.unreachable = False  # they wrote: the bot reaches them again
    state.last_inbound_at = event.received_at
    state.name = state.name or event.sender_name
    state.username = state.username or event.sender_username
    if event.attribution and state.attribution is None:  # first touch sticks to the conversation
        state.attribution = attribution_rules.resolve(event.attribution, ctx.tenant.deeplinks)
    pressed = apply_button(state, event, ctx, now)
    learned = pressed
    if event.sender_phone:
        state.channel_phone = normalize_phone(event.sender_phone) or event.sender_phone
        state.vouched_phone = state.channel_phone
        if state.phone is None and state.channel_phone:
            state.phone, learned = state.channel_phone, True
    if event.contact_phone:
        phone = normalize_phone(event.contact_phone)
        state.vouched_phone = phone or state.vouched_phone  # the adapter passes on only the sender's own
        if phone and phone != state.phone:
            state.phone, learned = phone, True
    if event.text and not pressed and event.kind != MessageKind.REVOKE:
        # "завтра", "через 2 часа" mean from when the client wrote, not from when a worker got to it
        written = written_at(event, now)
        found = await ctx.qualifier.extract(
            event.text,
            written.astimezone(ctx.tenant.tz),
            budget=lambda: _llm_budget_left(ctx, state.conversation_key),
        )
        state.intent = "other"
        learned = apply_extraction(state, found, ctx, now.astimezone(ctx.tenant.tz)) or learned
    return learned


async def _llm_budget_left(ctx: ConversationContext, key: str) -> bool:
    """At most `llm_calls_per_hour` model calls a conversation an hour; past that, rules only."""
    return await budgets.take_llm_call(ctx.redis, key, ctx.llm_calls_per_hour)
