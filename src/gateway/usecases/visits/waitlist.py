"""The waitlist in the chat: a client for whom no offered time suits joins it for a time near the one
they asked; a freed slot offered to them and pressed books it like any slot, and their wait ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from domain import Choice, Reply, Visit, parse_duration
from gateway.settings.lifecycle import WaitlistConfig
from gateway.store import facts
from gateway.store.conversations import DialogueState
from gateway.store.facts import Kind
from gateway.store.sql import waitlist as store
from gateway.usecases.analytics import fact_log
from gateway.usecases.visits.appointments import Appointments
from gateway.usecases.visits.buttons import WAITLIST_PREFIX
from gateway.usecases.visits.dialogue import Dialogue, format_when
from gateway.usecases.voice.say import say


def join_button(dialogue: Dialogue, wished: datetime) -> Choice:
    return Choice(say(dialogue.texts, "button_waitlist").text, f"{WAITLIST_PREFIX}{wished:%Y-%m-%dT%H:%M}")


async def join(
    app: Appointments, dialogue: Dialogue, config: WaitlistConfig, state: DialogueState, raw: str, now: datetime
) -> Reply:
    """`w:<time>` pressed: the client waits for a start within `around` of that time (a past or unreadable
    time, or nothing to book, is an offer gone)."""
    try:
        wished = datetime.fromisoformat(raw).replace(tzinfo=app.tenant.tz)
    except ValueError:
        return Reply(say(dialogue.texts, "visit_gone").text)
    if wished <= now or not state.service_ids:
        return Reply(say(dialogue.texts, "visit_gone").text)
    around = parse_duration(config.around)
    row = {
        "conversation": state.conversation_key,
        "channel": state.channel.value,
        "chat_id": state.chat_id,
        "reply_phone": state.channel_phone,
        "phone": state.phone,
        "services": ",".join(state.service_ids),
        "duration_min": dialogue.duration_min(state.service_ids),
        "wished_from": max(wished - around, now),
        "wished_to": wished + around,
    }
    await store.join(app.engine, app.tenant_id, app.portal, row, now)
    names = dialogue.names(state.service_ids) or "визит"
    when = format_when(wished, None, app.local(now))
    until = minutes_label(parse_duration(config.offer_for))
    return Reply(say(dialogue.texts, "waitlist_joined", service=names, when=when, until=until).text)


def minutes_label(span: timedelta) -> str:
    """How long an offer is kept, as a client reads it: «15 мин», «2 ч», «1 ч 30 мин»."""
    hours, minutes = divmod(int(span.total_seconds() // 60), 60)
    return (
        " ".join(part for part in (f"{hours} ч" if hours else "", f"{minutes} мин" if minutes else "") if part)
        or "1 мин"
    )


async def taken(app: Appointments, entry_id: int, visit: Visit, now: datetime) -> None:
    """A slot offered from the waitlist was booked by the client it was offered to: their wait ends, and
    the owner's numbers count a chair the waitlist filled."""
    entry = await store.entry(app.engine, entry_id)
    if entry is None or entry.conversation != visit.conversation:
        return  # a payload is the client's to forge: only their own entry ends
    if await store.booked(app.engine, entry_id, visit.id):
        fact = await fact_log.of_visit(app.redis, visit, Kind.WAITLIST_FILLED, now, key=f"waitlist:{visit.id}")
        await facts.emit(app.redis, [replace(fact, amount=None)])
