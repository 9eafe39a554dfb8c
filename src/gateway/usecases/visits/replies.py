"""What the bot says and does about a visit in the chat: offer free slots, book the one picked, confirm,
move or cancel from a reminder's buttons or in words. Only for a tenant with `lifecycle:`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from domain import Address, Choice, InboundMessage, Reply, Visit, VisitStatus, why_not_bookable
from domain.consent import CONSENT_QUESTION, NO_SHOW_OFFER
from gateway.settings.lifecycle import WaitlistConfig
from gateway.store.conversations import DialogueState, TimelineEntry, append_timeline
from gateway.store.facts import Kind
from gateway.store.sql import agenda, outreach_history
from gateway.store.sql import visits as store
from gateway.usecases.analytics import fact_log
from gateway.usecases.visits import waitlist
from gateway.usecases.visits.appointments import Appointments
from gateway.usecases.visits.buttons import (
    BOOK_PREFIX,
    CANCEL,
    CONFIRM,
    FROM_NO_SHOW,
    FROM_RETENTION,
    FROM_WAITLIST,
    RESCHEDULE,
    VISIT_PREFIX,
    WAITLIST_PREFIX,
    service_of,
    split_origin,
    visit_id_of,
)
from gateway.usecases.visits.deposits import Deposits
from gateway.usecases.visits.dialogue import Dialogue, format_when
from gateway.usecases.visits.offer_replies import OfferReplies, RatingTodo, person, same_client
from gateway.usecases.voice.say import say

logger = logging.getLogger("gateway.usecases.visits.replies")


def visit_buttons(visit_id: int, dialogue: Dialogue) -> tuple[Choice, ...]:
    texts = dialogue.texts
    return (
        Choice(say(texts, "button_confirm").text, f"{VISIT_PREFIX}{CONFIRM}:{visit_id}"),
        Choice(say(texts, "button_reschedule").text, f"{VISIT_PREFIX}{RESCHEDULE}:{visit_id}"),
        Choice(say(texts, "button_cancel").text, f"{VISIT_PREFIX}{CANCEL}:{visit_id}"),
    )


def slot_choices(starts: list[datetime], now: datetime, origin: str | None = None) -> tuple[Choice, ...]:
    """A button for each start; `origin` (after a `|`) tells which offer a press answers."""
    suffix = f"|{origin}" if origin is not None else ""
    return tuple(Choice(format_when(s, None, now), BOOK_PREFIX + s.strftime("%Y-%m-%dT%H:%M") + suffix) for s in starts)


def service_label(dialogue: Dialogue, service_ids: list[str] | tuple[str, ...]) -> str:
    return dialogue.names(service_ids) or "визит"


class VisitReplies:
    def __init__(
        self,
        appointments: Appointments,
        dialogue: Dialogue,
        on_low_rating: RatingTodo | None = None,
        deposits: Deposits | None = None,
    ) -> None:
        self.appointments = appointments
        self.deposits = deposits
        self.dialogue = dialogue
        self.texts = dialogue.texts
        self.offers = OfferReplies(appointments, dialogue, on_low_rating)

    async def reply(self, state: DialogueState, event: InboundMessage, now: datetime) -> Reply | None:
        """The reply about a visit this message calls for, having done what it asks; None: the plain
        dialogue answers (something is still missing, or nothing here is about a visit)."""
        if (answered := await self.offers.reply(state, event, now)) is not None:
            return answered
        local = self.appointments.local(now)
        button = event.button or ""
        if button.startswith(BOOK_PREFIX):
            return await self._book(state, button[len(BOOK_PREFIX) :], now, local)
        if button.startswith(WAITLIST_PREFIX) and self._waitlist is not None:
            raw = button[len(WAITLIST_PREFIX) :]
            return await waitlist.join(self.appointments, self.dialogue, self._waitlist, state, raw, now)
        if button.startswith(VISIT_PREFIX):
            action, _, raw_id = button[len(VISIT_PREFIX) :].partition(":")
            visit_id = visit_id_of(raw_id)
            visit = await store.visit_by_id(self.appointments.engine, visit_id) if visit_id is not None else None
            if visit is None or visit.conversation != state.conversation_key or not visit.active:
                return Reply(say(self.texts, "visit_gone").text)
            return await self._act(state, visit, action, now, local)
        current = await self._current(state)
        if event.text and state.intent in ("cancel", "reschedule") and current is not None:
            return await self._act(state, current, CANCEL if state.intent == "cancel" else RESCHEDULE, now, local)
        if state.missing() or state.intent == "price":
            return None
        if current is not None and state.time_start == self.appointments.local(current.start_at):
            return None  # booked as asked: the dialogue thanks
        assert state.time_start is not None  # noqa: S101 - nothing is missing
        return await self._offer(state, state.time_start, now, local, besides=current.id if current else None)

    async def _current(self, state: DialogueState) -> Visit | None:
        visit = await store.latest_visit(self.appointments.engine, self.appointments.tenant_id, state.conversation_key)
        return visit if visit is not None and visit.active else None

    def _duration(self, state: DialogueState) -> timedelta:
        return timedelta(minutes=self.dialogue.duration_min(state.service_ids))

    async def _offer(
        self,
        state: DialogueState,
        wished: datetime,
        now: datetime,
        local: datetime,
        *,
        besides: int | None,
        other_than: datetime | None = None,
    ) -> Reply:
        """Free starts near `wished`; `other_than`: the visit's own time, not a new one to move to."""
        count = 3 if other_than is None else 4  # one more, in case the visit's own time is among them
        starts = await self.appointments.offer(
            wished, self._duration(state), now, besides=besides, services=state.service_ids, count=count
        )
        starts = [s for s in starts if s != other_than]
        if len(starts) > 3:  # the farthest from the wished time goes
            starts.remove(max(starts, key=lambda s: abs((s - wished).total_seconds())))
        when = format_when(self.appointments.local(wished), None, local)
        service = service_label(self.dialogue, state.service_ids)
        # none of them may suit: with a waitlist, the client can wait for a time near the one asked
        wait = (waitlist.join_button(self.dialogue, wished),) if self._waitlist and other_than is None else ()
        if not starts:
            return Reply(say(self.texts, "no_slots", when=when, service=service).text, choices=wait)
        choices = slot_choices(starts, local) + wait
        return Reply(say(self.texts, "offer_slots", service=service, when=when).text, choices=choices)

    @property
    def _waitlist(self) -> WaitlistConfig | None:
        return self.appointments.lifecycle.waitlist

    async def _book(self, state: DialogueState, raw: str, now: datetime, local: datetime) -> Reply:
        raw, origin, source_id = split_origin(payload := raw)
        try:
            start = datetime.fromisoformat(raw).replace(tzinfo=self.appointments.tenant.tz)
        except ValueError:
            return Reply(say(self.texts, "visit_gone").text)
        current = await self._current(state)
        if (wanted := service_of(payload)) is not None and current is not None:  # a form never moves a visit
            when = format_when(self.appointments.local(current.start_at), None, local)
            label = service_label(self.dialogue, current.services)
            return Reply(say(self.texts, "form_has_visit", service=label, when=when).text)
        if wanted in self.dialogue.services:  # slots offered for a website form's request
            state.service_ids = [wanted]
        if current is not None and current.start_at == start and list(current.services) == state.service_ids:
            return await self._booked_before(state, current, now, local)
        from_offer = source_id is not None and origin in (FROM_NO_SHOW, FROM_RETENTION)
        source = await store.visit_by_id(self.appointments.engine, source_id) if from_offer else None  # type: ignore[arg-type]
        if source is not None and same_client(source, state):  # an offer's slot: that visit's services
            state.service_ids = list(source.services)
        else:
            source = None
        besides = current.id if current else None
        # a button is what someone sent back, not what we offered: its time is checked as a typed one is
        if why_not_bookable(start, None, now, self.appointments.tenant.opening_hours(), self._duration(state)):
            return Reply(say(self.texts, "visit_gone").text)  # past, closed, outside the hours or too far ahead
        if not await self._free_start(state, start, now, besides):  # off the grid, or taken meanwhile
            return await self._taken(state, start, now, local, besides)
        discount = await self._discount(source, now) if origin == FROM_NO_SHOW else None
        visit = await self.appointments.book(
            conversation=state.conversation_key,
            to=Address(state.channel.value, state.chat_id, state.channel_phone),
            deal_id=None,
            start=start,
            duration=self._duration(state),
            services=state.service_ids,
            now=now,
            moving=current.id if current else None,
            phone=state.phone,
            discount_percent=discount,
            recovered_from=source.id if discount is not None and source is not None else None,
        )
        if visit is None:  # filled meanwhile: the next free ones
            return await self._taken(state, start, now, local, besides)
        state.visit_id, state.time_start, state.time_end, state.confirmed = visit.id, start, None, True
        if origin == FROM_WAITLIST and source_id is not None:
            await waitlist.taken(self.appointments, source_id, visit, now)
        if discount is not None and source is not None:
            await self._note_discount(state, discount, source, now)
        return await self._booked(state, visit, moved=current is not None, discount=discount, now=now, local=local)

    async def _booked(
        self, state: DialogueState, visit: Visit, *, moved: bool, discount: int | None, now: datetime, local: datetime
    ) -> Reply:
        """What a new or moved booking is answered with: the consent question follows a first one, and a
        booking a deposit rule names gets its payment link instead of «Вы записаны»."""
        start = self.appointments.local(visit.start_at)
        values = {"service": service_label(self.dialogue, visit.services), "when": format_when(start, None, local)}
        if not moved:
            await self._ask_consent(state, visit, now)
            if (asked := await self._deposit(visit, now)) is not None:
                return asked
        if discount is not None:
            return Reply(say(self.texts, "no_show_booked", percent=discount, **values).text)
        return Reply(say(self.texts, "moved" if moved else "booked", **values).text)

    async def _deposit(self, visit: Visit, now: datetime) -> Reply | None:
        """A new booking a deposit rule names: the payment link, and the slot kept until it is paid."""
        if self.deposits is None or not await self.deposits.needed(visit):
            return None
        label = service_label(self.dialogue, visit.services)
        prices = [item.price for s in visit.services if (item := self.dialogue.services.get(s)) and item.price]
        asked = await self.deposits.ask(visit, label, int(sum(prices)) if prices else None, now)
        if asked is None:
            return None
        local = self.appointments.local(now)
        when = format_when(self.appointments.local(visit.start_at), None, local)
        until = f"{asked.until:%H:%M}" if asked.until.date() == local.date() else f"{asked.until:%d.%m %H:%M}"
        values = {"service": label, "when": when, "price": asked.rubles, "until": until, "link": asked.url}
        return Reply(say(self.texts, "deposit_requested", **values).text)

    async def _booked_before(self, state: DialogueState, visit: Visit, now: datetime, local: datetime) -> Reply:
        """The press finds its visit booked already: pressed twice, or the process that booked it died
        before it could answer. Whatever was left undone after the booking is done (each step is
        idempotent: the agenda is planned anew, the booking fact keyed by the visit, the consent
        question asked once a person), and the client hears they are booked, not that a visit moved."""
        await self.appointments.plan(visit, now)
        await fact_log.visit_facts(self.appointments.redis, visit, [Kind.BOOKING], now)
        await self._ask_consent(state, visit, now)
        start = self.appointments.local(visit.start_at)  # the store's time is UTC; the client's is local
        state.visit_id, state.time_start, state.time_end, state.confirmed = visit.id, start, None, True
        if (asked := await self._deposit(visit, now)) is not None:  # its link again, the same payment
            return asked
        label = service_label(self.dialogue, visit.services)
        return Reply(say(self.texts, "booked", service=label, when=format_when(start, None, local)).text)

    async def _free_start(self, state: DialogueState, start: datetime, now: datetime, besides: int | None) -> bool:
        """`start` is one the bot would offer now: on the slot grid, after the minimum lead, free."""
        nearest = await self.appointments.offer(
            start, self._duration(state), now, besides=besides, services=state.service_ids, count=1
        )
        return start in nearest

    async def _taken(
        self, state: DialogueState, start: datetime, now: datetime, local: datetime, besides: int | None
    ) -> Reply:
        starts = await self.appointments.offer(
            start, self._duration(state), now, besides=besides, services=state.service_ids
        )
        return Reply(say(self.texts, "slot_taken").text, choices=slot_choices(starts, local))

    async def _discount(self, source: Visit | None, now: datetime) -> int | None:
        """The no-show offer's discount, if the offer was made, is still valid and not used yet."""
        offer = self.appointments.lifecycle.no_show
        if source is None or offer is None:
            return None
        made = await agenda.sent_at(self.appointments.engine, source.id, NO_SHOW_OFFER)
        if made is None or now > made + timedelta(days=offer.valid_days):
            return None
        if await outreach_history.recovered(self.appointments.engine, source.id):
            return None
        book = self.appointments.experiments
        if book is None:
            return offer.discount_percent
        return await book.discount(offer.discount_percent, await book.people(source), now)  # as it was offered

    async def _note_discount(self, state: DialogueState, discount: int, source: Visit, now: datetime) -> None:
        missed = self.appointments.local(source.start_at)
        entry = TimelineEntry(
            key=f"discount:{source.id}",
            text=f"Запись со скидкой {discount}% по предложению после неявки {missed:%d.%m %H:%M}",
            at=self.appointments.local(now),
            author="Бот",
        )
        await append_timeline(self.appointments.redis, state.conversation_key, entry)

    async def _ask_consent(self, state: DialogueState, visit: Visit, now: datetime) -> None:
        """After a first booking, the one question about offers, as its own message a moment later."""
        if self.appointments.lifecycle.consent is None or await self.offers.consents.was_asked(person(state)):
            return
        await agenda.add_to_agenda(self.appointments.engine, visit.id, [(CONSENT_QUESTION, now)])

    async def _act(self, state: DialogueState, visit: Visit, action: str, now: datetime, local: datetime) -> Reply:
        when = format_when(self.appointments.local(visit.start_at), None, local)
        if action == CONFIRM:
            if visit.status != VisitStatus.CONFIRMED:
                await self.appointments.set_status(visit, VisitStatus.CONFIRMED, now)
            return Reply(say(self.texts, "confirmed", when=when).text)
        if action == CANCEL:
            await self.appointments.set_status(visit, VisitStatus.CANCELLED, now)
            state.visit_id = None
            return Reply(say(self.texts, "cancelled", when=when).text)
        if action == RESCHEDULE:
            state.service_ids = state.service_ids or list(visit.services)
            wished = state.time_start if state.time_start and state.time_start != visit.start_at else visit.start_at
            offered = await self._offer(state, wished, now, local, besides=visit.id, other_than=visit.start_at)
            if not offered.choices:
                return offered
            return Reply(say(self.texts, "pick_new_time").text, choices=offered.choices)
        return Reply(say(self.texts, "visit_gone").text)
