"""What the bot says next: ask for one missing thing at a time, or confirm what it understood."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timedelta

from domain import Choice, Reply, Service, Unbookable, WeekHours, why_not_bookable
from gateway.settings.texts import Texts
from gateway.store.conversations import DialogueState
from gateway.usecases.voice.say import say

MAX_QUESTIONS = 3
MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
SERVICE_PREFIX = "s:"
TIME_PREFIX = "t:"


def format_when(start: datetime, end: datetime | None, now: datetime) -> str:
    day = start.date()
    if day == now.date():
        label = "сегодня"
    elif day == now.date() + timedelta(days=1):
        label = "завтра"
    else:
        label = f"{day.day} {MONTHS_GENITIVE[day.month - 1]}"
    if end is None:
        return f"{label} в {start:%H:%M}"
    if end.date() != day:
        return f"с {label} по {end.day} {MONTHS_GENITIVE[end.month - 1]}"
    return f"{label}, {start:%H:%M}–{end:%H:%M}"


def free_starts(now: datetime, hours: WeekHours, duration_min: int, count: int = 3) -> list[datetime]:
    """The nearest start times inside opening hours (on the hour, at least an hour from now)."""
    starts: list[datetime] = []
    cursor = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    if now.minute:
        cursor += timedelta(hours=1)
    duration = timedelta(minutes=duration_min)
    for _ in range(14 * 24):
        # the one test of a bookable start: comparing clock times alone let 23:00 + 1 h (00:00) pass
        if why_not_bookable(cursor, None, now, hours, duration) is None:
            starts.append(cursor)
            if len(starts) == count:
                break
        cursor += timedelta(hours=1)
    return starts


class Dialogue:
    def __init__(self, services: list[Service], hours: WeekHours, texts: Texts) -> None:
        self.services = {s.id: s for s in services}
        self.hours = hours
        self.texts = texts

    def worded(self, texts: Texts) -> Dialogue:
        """The same dialogue in other words (a person's experiment variants)."""
        other = copy.copy(self)
        other.texts = texts
        return other

    def duration_min(self, service_ids: list[str]) -> int:
        """How long the visit takes: the longest of the services chosen, an hour when none is."""
        return max((self.services[s].duration_min for s in service_ids if s in self.services), default=60)

    def service_names(self, state: DialogueState) -> str:
        return self.names(state.service_ids)

    def names(self, service_ids: list[str] | tuple[str, ...]) -> str:
        """The catalog names of these services, comma-separated ("" when none is known)."""
        return ", ".join(self.services[s].name for s in service_ids if s in self.services)

    def next_reply(
        self, state: DialogueState, intent: str, learned: bool, now: datetime, *, question: bool = False
    ) -> Reply:
        """`question`: the client asked something the bot has no answer for; a manager is called for it,
        and the bot goes on with what the booking still lacks."""
        return self.greeted(state, self._body(state, intent, learned, now, question))

    def greeted(self, state: DialogueState, body: Reply) -> Reply:
        """The reply, after a greeting if it is the conversation's first."""
        if state.greeted:
            return body
        state.greeted = True
        greeting = say(self.texts, "greeting", name=f", {state.name}" if state.name else "").text
        return replace(body, text=f"{greeting}\n{body.text}")

    def _body(self, state: DialogueState, intent: str, learned: bool, now: datetime, question: bool) -> Reply:
        if intent == "cancel":
            return Reply(say(self.texts, "cancel").text)
        if intent == "reschedule":
            return Reply(say(self.texts, "reschedule").text)
        if intent == "human":  # asked for a person: handed over now, whatever the bot still lacks
            state.handed_off = True
            return Reply(say(self.texts, "handoff").text)
        prefix = self._prices(state.service_ids or list(self.services)) if intent == "price" else ""
        if question and intent == "other":
            state.handed_off = True
            prefix = say(self.texts, "question_handed_over").text
        prefix = prefix + "\n" if prefix else ""
        missing = state.missing()
        if not missing:
            if state.confirmed and not learned:
                return Reply(prefix + say(self.texts, "thanks").text)
            state.confirmed = True
            return Reply(
                prefix
                + say(
                    self.texts,
                    "confirm",
                    service=self.service_names(state) or "услуга",
                    when=format_when(state.time_start, state.time_end, now) if state.time_start else "",
                    phone=state.phone,
                ).text
            )
        if len(state.asked) >= MAX_QUESTIONS and state.time_refused is None:
            if state.handed_off and not prefix:
                return Reply(say(self.texts, "thanks").text)
            state.handed_off = True
            return Reply(prefix + say(self.texts, "handoff").text)
        # a refused time is answered at once, before whatever else is missing
        slot = "time" if state.time_refused is not None and "time" in missing else missing[0]
        state.asked.append(slot)
        ask = self._ask(slot, state, now)
        return Reply(
            prefix + ask.text,
            choices=ask.choices,
            ask_phone=ask.ask_phone,
            phone_button=ask.phone_button,
            slot=slot,
        )

    def _refusal(self, why: Unbookable, now: datetime) -> str:
        if why == Unbookable.OUTSIDE_HOURS:
            opened = self.hours[now.weekday()] or next((h for h in self.hours if h), None)
            when = f"{opened[0]:%H:%M} до {opened[1]:%H:%M}" if opened else ""
            return say(self.texts, "reason_outside_hours", when=when).text
        return say(self.texts, f"reason_{why.value}").text

    def _prices(self, service_ids: list[str]) -> str:
        lines = []
        for service_id in service_ids:
            service = self.services.get(service_id)
            if service and service.price is not None:
                lines.append(
                    say(self.texts, "price", service=service.name, price=f"{service.price:,.0f}".replace(",", " ")).text
                )
        return "\n".join(lines)

    def _ask(self, slot: str, state: DialogueState, now: datetime) -> Reply:
        if slot == "service":
            choices = tuple(Choice(s.name, SERVICE_PREFIX + s.id) for s in list(self.services.values())[:6])
            return Reply(say(self.texts, "ask_service").text, choices=choices)
        if slot == "time":
            starts = free_starts(now, self.hours, self.duration_min(state.service_ids))
            choices = tuple(
                Choice(format_when(s, None, now), TIME_PREFIX + s.strftime("%Y-%m-%dT%H:%M")) for s in starts
            )
            if state.time_refused is not None:  # said so once, with the nearest starts that do work
                text = say(self.texts, "time_unavailable", reason=self._refusal(state.time_refused, now)).text
                state.time_refused = None
                return Reply(text, choices=choices)
            return Reply(say(self.texts, "ask_time").text, choices=choices)
        return Reply(
            say(self.texts, "ask_phone").text, ask_phone=True, phone_button=say(self.texts, "share_phone_button").text
        )
