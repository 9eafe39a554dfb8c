"""Freed slots offered to the waitlist: each start a cancellation or a move freed goes to the waiting
clients whose wished time holds it, one at a time in the order they joined, each for `offer_for`; the
first to press it books it like any slot. Run with the agenda (every few seconds), so a freed slot is
offered within a minute; never in quiet hours, never to someone who said stop."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from domain import Choice, ConsentAnswer, Reply, parse_duration
from gateway.store.sql import consents
from gateway.store.sql import waitlist as store
from gateway.usecases.messaging import delivery
from gateway.usecases.outreach.reminders import ReminderContext, outbox_of
from gateway.usecases.visits.buttons import FROM_WAITLIST
from gateway.usecases.visits.dialogue import format_when
from gateway.usecases.visits.replies import service_label, slot_choices
from gateway.usecases.visits.waitlist import minutes_label
from gateway.usecases.voice.say import say

logger = logging.getLogger("gateway.usecases.outreach.waitlist_offers")


async def offer_freed(ctx: ReminderContext, now: datetime) -> int:
    """Offer each open freed slot to the next client in line; how many offers went."""
    app = ctx.appointments
    config = app.lifecycle.waitlist
    if config is None:
        return 0
    await store.lapse(app.engine, app.tenant_id, now)  # offers not taken: the next in line
    quiet = app.lifecycle.quiet()
    if quiet is not None and quiet.contains(app.local(now)):
        return 0  # offered when the quiet hours end, if the slot is still free
    sent = 0
    for slot in await store.open_slots(app.engine, app.tenant_id, app.portal):
        if slot.start_at <= now + parse_duration(app.lifecycle.min_lead):
            await store.close(app.engine, slot.id)
            continue
        if await store.offering(app.engine, slot, now):
            continue  # someone still has it to consider
        sent += await _next(ctx, slot, now, parse_duration(config.offer_for))
    return sent


async def _next(ctx: ReminderContext, slot: store.FreedSlot, now: datetime, offer_for: timedelta) -> int:
    app = ctx.appointments
    while waiting := await store.next_in_line(app.engine, app.tenant_id, app.portal, slot):
        free = await app.offer(
            slot.start_at, timedelta(minutes=waiting.duration_min), now, services=waiting.services, count=1
        )
        people = [k for k in (waiting.phone, waiting.conversation) if k]
        stopped = await consents.standing_of(app.engine, app.tenant_id, people) == ConsentAnswer.STOP
        if stopped:
            await store.leave(app.engine, waiting.id)
        if stopped or slot.start_at not in free:  # taken meanwhile, or too short for their visit
            slot = await store.skip(app.engine, slot, waiting)
            continue
        if not await store.offer(app.engine, slot, waiting, now + offer_for):
            continue  # another worker offered them something meanwhile
        outcome = await _send(ctx, slot, waiting, offer_for, now)
        logger.info("freed slot %s offered to waitlist entry %s: %s", slot.id, waiting.id, outcome)
        if outcome not in delivery.DELIVERED:  # they cannot get it: the next in line does
            await store.lapse_now(app.engine, waiting.id)
            slot = store.FreedSlot(slot.id, slot.start_at, slot.end_at, (*slot.offered, waiting.id))
            continue
        return 1
    return 0


async def _send(
    ctx: ReminderContext, slot: store.FreedSlot, waiting: store.Waiting, offer_for: timedelta, now: datetime
) -> delivery.Outcome:
    app = ctx.appointments
    local = app.local(now)
    values = {
        "service": service_label(ctx.dialogue, waiting.services),
        "when": format_when(app.local(slot.start_at), None, local),
        "until": minutes_label(offer_for),
    }
    choices: tuple[Choice, ...] = slot_choices([app.local(slot.start_at)], local, f"{FROM_WAITLIST}{waiting.id}")
    reply = Reply(
        say(ctx.dialogue.texts, "waitlist_offer", **values).text,
        choices=choices,
        initiated="transactional",  # about the client's own request, not advertising
        key=f"waitlist:{waiting.id}:{slot.id}",
    )
    to = delivery.Address(waiting.conversation, waiting.channel, waiting.chat_id, waiting.reply_phone)
    done = await delivery.deliver(outbox_of(ctx), to, delivery.Message(reply=reply), now)
    return done.outcome
