"""A form that names a client the bot knows is only a claim: the client is first asked whether the
request was theirs. Their answer decides: yes, the form's service's free slots (unless a visit is booked:
a form never changes it); no, nothing. Either way the form's deal says what they answered."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel

from domain import Choice, InboundMessage, Purpose, Reply, conversation_parts
from gateway.store import keys
from gateway.store.conversations import DialogueState, TimelineEntry, append_timeline
from gateway.store.sql import visits as store
from gateway.usecases.visits.buttons import FOR_SERVICE, FORM_MINE, FORM_NOT_MINE, FORM_PREFIX
from gateway.usecases.visits.dialogue import format_when
from gateway.usecases.visits.replies import VisitReplies, service_label, slot_choices
from gateway.usecases.voice.say import say

logger = logging.getLogger("gateway.usecases.conversation.form_answers")

QUESTION_SECONDS = 3 * 24 * 3600  # an answer after three days is too late to act on
# A form's keys: its job ids, its mark in the target's `processed` (the question claimed there, sent at
# most once) and its notes on the form's deal.
MARK = "reach:"
OFFER_HOUR = 12  # without a time in the form, slots are offered around noon the next day


class Reach(BaseModel):
    """One form's lead in a conversation the bot knows: the question's job, then its pending answer."""

    tenant: str
    form: str  # the form's conversation (its deal gets the outcome)
    form_event: str  # the form's dedupe key: one question per form
    target: str = ""  # the messenger conversation it goes to, once found
    left: tuple[str, ...] = ()  # the messenger addresses the form named
    service: str | None = None
    wished: AwareDatetime | None = None
    phone: str | None = None
    name: str | None = None

    @property
    def token(self) -> str:
        """Short enough for any platform's button payload (Telegram's 64 bytes)."""
        return hashlib.sha256(self.form_event.encode()).hexdigest()[:12]


def question(visits: VisitReplies, job: Reach) -> Reply:
    texts = visits.texts
    label = service_label(visits.dialogue, [job.service] if job.service else [])
    choices = (
        Choice(say(texts, "button_form_mine").text, f"{FORM_PREFIX}{FORM_MINE}:{job.token}"),
        Choice(say(texts, "button_form_not_mine").text, f"{FORM_PREFIX}{FORM_NOT_MINE}:{job.token}"),
    )
    # about a request made in the client's name: a service message, not an advertisement (VK's intent)
    return Reply(
        say(texts, "form_question", service=label).text, choices=choices, initiated=Purpose.TRANSACTIONAL.value
    )


async def keep_question(visits: VisitReplies, job: Reach) -> None:
    """Kept before the question goes, so an answer pressed at once finds it."""
    redis, key = visits.appointments.redis, keys.form_questions(job.target)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, job.token, job.model_dump_json())
        pipe.expire(key, QUESTION_SECONDS)
        await pipe.execute()


async def take_question(visits: VisitReplies, target: str, token: str) -> Reach | None:
    """The question's form, once: a second press of either answer finds nothing."""
    redis, key = visits.appointments.redis, keys.form_questions(target)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hget(key, token)
        pipe.hdel(key, token)
        raw, _ = await pipe.execute()
    return Reach.model_validate_json(raw) if raw else None


async def note_on_form(
    visits: VisitReplies,
    queue_crm_sync: Callable[[str], Awaitable[None]],
    job: Reach,
    text: str,
    now: datetime,
    step: str = "",
) -> None:
    """A line on the form's deal's timeline (once per form and step: a note's key is the form's)."""
    app = visits.appointments
    entry = TimelineEntry(key=f"{MARK}{job.form_event}{step}", text=text, at=app.local(now), author="Бот")
    await append_timeline(app.redis, job.form, entry)
    await queue_crm_sync(job.form)


ANSWER_NOTES = {
    FORM_NOT_MINE: "Клиент в {where} ответил, что не оставлял эту заявку: контакты в ней, возможно, чужие",
    FORM_MINE: "Клиент в {where} подтвердил заявку; ему предложено время",
}
HAS_VISIT_NOTE = "Клиент в {where} подтвердил заявку, но у него уже есть запись на {when}: она не изменена, позвоните"
NO_SLOTS_NOTE = "Клиент в {where} подтвердил заявку; свободного времени не нашлось: позвоните клиенту"


class FormAnswers:
    """The client's answer to «это ваша заявка?», pressed in their chat."""

    def __init__(self, visits: VisitReplies, queue_crm_sync: Callable[[str], Awaitable[None]]) -> None:
        self.visits = visits
        self.texts = visits.texts
        self.queue_crm_sync = queue_crm_sync

    async def reply(self, state: DialogueState, event: InboundMessage, now: datetime) -> Reply | None:
        """The reply to an answer button; None when the message is not one."""
        button = event.button or ""
        if not button.startswith(FORM_PREFIX):
            return None
        answer, _, token = button[len(FORM_PREFIX) :].partition(":")
        job = await take_question(self.visits, state.conversation_key, token) if answer in ANSWER_NOTES else None
        if job is None:
            return Reply(say(self.texts, "form_question_gone").text)
        where = conversation_parts(state.conversation_key)[1]
        logger.info("%s: the client answered about form %s: %s", state.conversation_key, job.form, answer)
        if answer == FORM_NOT_MINE:
            await self._note(job, ANSWER_NOTES[FORM_NOT_MINE].format(where=where), now)
            return Reply(say(self.texts, "form_not_mine").text)
        if job.phone is not None and job.phone == state.vouched_phone:  # a typed phone is never attached
            state.phone = state.phone or job.phone
        state.name = state.name or job.name
        app = self.visits.appointments
        booked = await store.latest_visit(app.engine, app.tenant_id, state.conversation_key)
        if booked is not None and booked.active:  # a form never changes a booked visit
            when = format_when(app.local(booked.start_at), None, app.local(now))
            await self._note(job, HAS_VISIT_NOTE.format(where=where, when=when), now)
            label = service_label(self.visits.dialogue, booked.services)
            return Reply(say(self.texts, "form_has_visit", service=label, when=when).text)
        offer = await self._offer(job, now)
        await self._note(job, (ANSWER_NOTES[FORM_MINE] if offer.choices else NO_SLOTS_NOTE).format(where=where), now)
        return offer

    async def _note(self, job: Reach, text: str, now: datetime) -> None:
        await note_on_form(self.visits, self.queue_crm_sync, job, text, now, step=":answer")

    async def _offer(self, job: Reach, now: datetime) -> Reply:
        app, dialogue = self.visits.appointments, self.visits.dialogue
        local = app.local(now)
        wished = job.wished if job.wished is not None and job.wished > now else None
        if wished is None:
            wished = (local + timedelta(days=1)).replace(hour=OFFER_HOUR, minute=0, second=0, microsecond=0)
        services = [job.service] if job.service else []
        duration = timedelta(minutes=dialogue.duration_min(services))
        starts = await app.offer(wished, duration, now, services=services)
        label = service_label(dialogue, services)
        if not starts:
            return Reply(
                say(self.texts, "no_slots", when=format_when(app.local(wished), None, local), service=label).text
            )
        choices = slot_choices(starts, local, f"{FOR_SERVICE}{job.service or ''}")
        return Reply(say(self.texts, "form_offer", service=label).text, choices=choices)
