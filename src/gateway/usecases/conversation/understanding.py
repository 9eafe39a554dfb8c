"""What a client's message changes in the dialogue: a pressed button, the service, time, phone and name
found in the words, and how the message reads on the deal's timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import Channel, InboundMessage, MessageKind, Unbookable, why_not_bookable
from gateway.store.conversations import DialogueState
from gateway.usecases.conversation.context import ConversationContext
from gateway.usecases.visits.buttons import describe
from gateway.usecases.visits.dialogue import SERVICE_PREFIX, TIME_PREFIX
from qualifier.result import Extraction


def new_state(event: InboundMessage) -> DialogueState:
    return DialogueState(
        conversation_key=event.conversation_key,
        tenant=event.tenant,
        channel=event.channel.value,
        chat_id=event.chat_id,
        sender_id=event.sender_id,
    )


def apply_button(state: DialogueState, event: InboundMessage, ctx: ConversationContext, now: datetime) -> bool:
    button = event.button or ""
    if button.startswith(SERVICE_PREFIX) and ctx.dialogue.services.get(button[len(SERVICE_PREFIX) :]):
        state.service_ids = [button[len(SERVICE_PREFIX) :]]
        return True
    if button.startswith(TIME_PREFIX):
        try:
            start = datetime.fromisoformat(button[len(TIME_PREFIX) :]).replace(tzinfo=ctx.tenant.tz)
        except ValueError:
            return False
        return _set_time(state, ctx, start, None, now)
    return False


def _set_time(
    state: DialogueState, ctx: ConversationContext, start: datetime, end: datetime | None, now: datetime
) -> bool:
    """Take a time the client asked for only if a visit can happen then; otherwise keep why not, so the
    bot says so and offers the nearest open starts instead of confirming an impossible booking."""
    duration = timedelta(minutes=ctx.dialogue.duration_min(state.service_ids))
    refused = why_not_bookable(start, end, now, ctx.dialogue.hours, duration)
    if refused is not None:  # the client wants another time than any held before: that one is dropped too
        state.time_refused, state.time_start, state.time_end = refused, None, None
        return False
    if (start, end) == (state.time_start, state.time_end):
        return False
    state.time_start, state.time_end, state.time_refused = start, end, None
    return True


def apply_extraction(state: DialogueState, found: Extraction, ctx: ConversationContext, now: datetime) -> bool:
    learned = False
    if found.service_ids and list(found.service_ids) != state.service_ids:
        state.service_ids, learned = list(found.service_ids), True
    if found.no_such_date:
        state.time_refused, state.time_start, state.time_end = Unbookable.NO_SUCH_DATE, None, None
    elif found.time_start:
        learned = _set_time(state, ctx, found.time_start, found.time_end, now) or learned
    if found.phone and found.phone != state.phone:
        state.phone, learned = found.phone, True
    if found.name and not state.name:
        state.name = found.name
    if found.intent != "other":
        state.intent = found.intent
    return learned


MANAGER_NOTES = {
    "cancel": "[нужен администратор: отмена записи]",
    "reschedule": "[нужен администратор: перенос записи]",
}


def timeline_text(event: InboundMessage, intent: str) -> str:
    if event.kind == MessageKind.EDIT:
        return f"[исправлено] {event.text}".strip()
    if event.kind == MessageKind.REVOKE:
        return "[клиент удалил сообщение]"
    if event.kind == MessageKind.BLOCKED:
        return "[клиент заблокировал бота: сообщения бота до него не доходят]"
    if event.kind == MessageKind.UNBLOCKED:
        return "[клиент снова разрешил боту писать]"
    note = MANAGER_NOTES.get(intent)
    if note and event.text and not event.button:
        return f"{note} {event.text}"
    if event.button:
        return f"[кнопка] {event.text or describe(event.button) or event.button}"
    if event.contact_phone and event.channel != Channel.FORM:  # a form's phone is on its own line
        return f"[поделился номером] {event.text}".strip()
    if event.text:
        return event.text
    code = event.attribution.code if event.attribution is not None else None
    return f"[клиент открыл бота, код ссылки {code}]" if code else "[клиент открыл бота]"


def has_new_intent(event: InboundMessage) -> bool:
    return bool(event.text) and not event.button


# Platforms re-deliver for up to a week (Meta 7 days, Telegram 24 h); a message "written" earlier than
# that, or in the future, carries a wrong clock, and its relative dates are read from now instead.
SENT_AT_TRUSTED = timedelta(days=8)


def written_at(event: InboundMessage, now: datetime) -> datetime:
    return event.sent_at if now - SENT_AT_TRUSTED <= event.sent_at <= now else now
