"""What the bot does when a client answers its offers or asks it to stop: the consent question's yes or
no, «стоп» and «подписаться», adding an upsell offer to the visit, and a rating after a visit (with a low
one's answer). Only for a tenant with `lifecycle:`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from domain import ConsentAnswer, InboundMessage, Reply, Visit, VisitStatus
from gateway.store import facts, keys
from gateway.store.conversations import DialogueState
from gateway.store.facts import Kind
from gateway.store.redis_result import result
from gateway.store.sql import ratings
from gateway.store.sql import visits as store
from gateway.usecases.analytics import fact_log
from gateway.usecases.analytics.recommendations import pairs_of
from gateway.usecases.people.consent import CONSENT_PREFIX, NO_VERSION, YES, ConsentBook, Person, question
from gateway.usecases.visits.appointments import BOOKING_LOCK_SECONDS, Appointments
from gateway.usecases.visits.buttons import REVIEW_PREFIX, UPSELL_PREFIX_BUTTON, UPSELL_YES, rating_of, visit_id_of
from gateway.usecases.visits.dialogue import Dialogue, format_when
from gateway.usecases.voice.say import say
from qualifier.optout import asks_to_resume, asks_to_stop


def person(state: DialogueState) -> Person:
    """Who answers or stops here: this conversation, and across channels only a phone the platform vouches
    for (a typed one would let a stranger stop or consent for the number's owner)."""
    return Person(state.tenant, state.conversation_key, state.channel.value, state.vouched_phone)


LOW_RATING = 3  # 1 to 3: «что пошло не так?» and a to-do for the deal's responsible
ANSWER_AWAITED_SECONDS = 24 * 3600  # the client's next words within a day answer it
# (visit id, why: "rated" or "answered"): the manager's to-do for a low rating, made or filled in a job
RatingTodo = Callable[[int, str], Awaitable[object]]


class OfferReplies:
    def __init__(self, appointments: Appointments, dialogue: Dialogue, on_low_rating: RatingTodo | None = None) -> None:
        self.appointments = appointments
        self.dialogue = dialogue
        self.texts = dialogue.texts
        self.consents = ConsentBook(appointments.engine, appointments.redis, appointments.tenant.tz)
        self.on_low_rating = on_low_rating

    async def reply(self, state: DialogueState, event: InboundMessage, now: datetime) -> Reply | None:
        """The answer to a consent or upsell button, a stop or a resume; None when the message is none."""
        button = event.button or ""
        consent = self.appointments.lifecycle.consent
        if button.startswith(CONSENT_PREFIX) and consent is not None:
            said_yes = button[len(CONSENT_PREFIX) :] == YES
            return await self.consents.answer(person(state), said_yes, self.texts, consent, now)
        if button.startswith(UPSELL_PREFIX_BUTTON):
            return await self._upsell(state, button[len(UPSELL_PREFIX_BUTTON) :], now)
        if button.startswith(REVIEW_PREFIX):
            return await self._rate(state, button[len(REVIEW_PREFIX) :], now)
        if not event.text or button:
            return None
        if asks_to_stop(event.text):
            await self.consents.record(person(state), ConsentAnswer.STOP, event.text, NO_VERSION, "words", now)
            return Reply(say(self.texts, "stopped").text)
        if asks_to_resume(event.text):
            if consent is None:  # no offers here: the yes only lets reminders through again
                await self.consents.record(person(state), ConsentAnswer.YES, event.text, NO_VERSION, "words", now)
                return Reply(say(self.texts, "consent_yes").text)
            asked = question(self.texts, consent)
            await self.consents.record(
                person(state), ConsentAnswer.ASKED, asked.text, consent.text_version, "client_asked", now
            )
            return asked
        return await self._rating_answer(state, event.text)

    async def _rate(self, state: DialogueState, raw: str, now: datetime) -> Reply:
        """A score for a visit: kept once; 4-5 get the review links, 1-3 are asked what went wrong and the
        deal's responsible gets a to-do."""
        app = self.appointments
        rated = rating_of(raw)
        visit = await store.visit_by_id(app.engine, rated[0]) if rated is not None else None
        if rated is None or visit is None or visit.status != VisitStatus.VISITED or not same_client(visit, state):
            return Reply(say(self.texts, "visit_gone").text)
        score = rated[1]
        if not await ratings.rate(app.engine, app.tenant_id, visit.id, score, now):
            return Reply(say(self.texts, "review_rated_before").text)
        fact = await fact_log.of_visit(app.redis, visit, Kind.RATING, now, key=f"rating:{visit.id}")
        await facts.emit(app.redis, [replace(fact, amount=float(score))])
        if score > LOW_RATING:
            review = app.lifecycle.review
            links = "\n".join(f"{name}: {url}" for name, url in (review.links if review else {}).items())
            return Reply(
                say(self.texts, "review_thanks_links", links=links).text
                if links
                else say(self.texts, "review_thanks").text
            )
        await result(app.redis.set(keys.review_awaits(state.conversation_key), visit.id, ex=ANSWER_AWAITED_SECONDS))
        if self.on_low_rating is not None:
            await self.on_low_rating(visit.id, "rated")
        return Reply(say(self.texts, "review_what_went_wrong").text)

    async def _rating_answer(self, state: DialogueState, text: str) -> Reply | None:
        """The client's words after «что пошло не так?»: kept with the rating and put in the manager's to-do."""
        app = self.appointments
        awaits = keys.review_awaits(state.conversation_key)
        raw = await result(app.redis.get(awaits))
        visit_id = visit_id_of(raw.decode() if isinstance(raw, bytes) else str(raw or ""))
        if visit_id is None:
            return None
        # kept and queued before the mark goes: a retry after a crash finds the mark and does both again,
        # which the first-answer-stands update and the job's id make harmless
        await ratings.comment(app.engine, visit_id, text[:2000])
        if self.on_low_rating is not None:
            await self.on_low_rating(visit_id, "answered")
        await result(app.redis.delete(awaits))
        return Reply(say(self.texts, "review_answer_passed").text)

    async def _upsell(self, state: DialogueState, raw: str, now: datetime) -> Reply:
        answer, _, rest = raw.partition(":")
        raw_id, _, offer = rest.partition(":")
        visit_id = visit_id_of(raw_id)
        visit = await store.visit_by_id(self.appointments.engine, visit_id) if visit_id is not None else None
        if visit is None or not await _offered(self.appointments, visit, offer) or not same_client(visit, state):
            return Reply(say(self.texts, "visit_gone").text)
        local = self.appointments.local(now)
        values = {
            "offer": (self.dialogue.names([offer]) or offer).lower(),
            "when": format_when(self.appointments.local(visit.start_at), None, local),
        }
        if answer != UPSELL_YES:
            return Reply(say(self.texts, "upsell_declined").text)
        if offer in visit.services:
            return Reply(say(self.texts, "upsell_added", **values).text)
        if not await self._add(visit, offer, now):
            return Reply(say(self.texts, "upsell_no_room", **values).text)
        if visit.conversation == state.conversation_key:  # the deal's title and fields follow the dialogue
            state.service_ids = [*visit.services, offer]
        taken = await fact_log.of_visit(
            self.appointments.redis, visit, Kind.UPSELL, now, key=f"upsell:{visit.id}:{offer}"
        )
        await facts.emit(self.appointments.redis, [replace(taken, service=offer)])
        return Reply(say(self.texts, "upsell_added", **values).text)

    async def _add(self, visit: Visit, offer: str, now: datetime) -> bool:
        """The offer added to the visit, its end moved by the offer's duration, if that time is free (and,
        with Online Booking, the portal's booking lengthened)."""
        app = self.appointments
        item = self.dialogue.services.get(offer)
        end = visit.end_at + timedelta(minutes=item.duration_min if item else 30)
        async with app.redis.lock(
            keys.booking_lock(app.tenant_id), timeout=BOOKING_LOCK_SECONDS, blocking_timeout=BOOKING_LOCK_SECONDS
        ):
            if app.online is not None and visit.resource_id is not None:
                taken = (await app.online.busy(visit.end_at, end)).get(visit.resource_id, [])
                if any(b.start < end and visit.end_at < b.end and b.start != visit.start_at for b in taken):
                    return False
            services = [*visit.services, offer]
            if not await store.extend_visit(app.engine, visit, services, end, app.tenant.capacity, now):
                return False
            if app.online is not None and visit.booking_id is not None:
                await app.online.move(visit.booking_id, visit.start_at, end)
        return True


async def _offered(app: Appointments, visit: Visit, offer: str) -> bool:
    """Only an offer a listed rule, or with `upsell: auto` a mined pair, makes for this visit can be added
    (a payload is the client's to forge)."""
    if not visit.active:
        return False
    if any(r.offer == offer and r.service in visit.services for r in app.lifecycle.upsell):
        return True
    if not app.lifecycle.upsell_auto:
        return False
    return any(p.offer == offer and p.service in visit.services for p in await pairs_of(app.redis, app.tenant_id))


def same_client(visit: Visit, state: DialogueState) -> bool:
    """The press comes from the visit's conversation, or (an offer delivered on another channel) from a
    conversation whose phone the platform vouches is the visit's: a typed phone opens no one's visit."""
    if visit.conversation == state.conversation_key:
        return True
    return visit.phone is not None and visit.phone == state.vouched_phone
