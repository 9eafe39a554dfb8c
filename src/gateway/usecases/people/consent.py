"""Ask for, record and honour a person's word about the bot's offers: each question shown and each yes,
no and stop is kept in the business store with its exact text and version, and noted on the contact's
timeline in Bitrix24."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import Choice, ConsentAnswer, Reply
from gateway.settings.lifecycle import ConsentConfig
from gateway.settings.texts import Texts
from gateway.store import facts
from gateway.store.conversations import TimelineEntry, append_timeline
from gateway.store.facts import Fact, Kind
from gateway.store.sql import consents
from gateway.store.sql.consents import ConsentRecord, person_of
from gateway.usecases.voice.say import say

YES, NO = "y", "n"
CONSENT_PREFIX = "k:"  # the consent question's buttons: k:y yes to offers, k:n no
NO_VERSION = "-"  # a stop needs no question: it is kept with the client's own words

NOTES = {
    ConsentAnswer.ASKED: "Бот спросил согласие на рекламные сообщения (версия {version})",
    ConsentAnswer.YES: "Клиент дал согласие на рекламные сообщения (версия {version}, {channel})",
    ConsentAnswer.NO: "Клиент отказался от рекламных сообщений (версия {version}, {channel})",
    ConsentAnswer.STOP: (
        "Клиент попросил больше не писать ему первым ({channel}, {source}): бот не пишет первым ни в одном канале"
    ),
}


@dataclass(frozen=True)
class Person:
    """Whose word it is: the conversation it came by, and the phone that names them on every channel."""

    tenant: str
    conversation: str
    channel: str
    phone: str | None

    @property
    def keys(self) -> list[str]:
        return [k for k in (self.phone, self.conversation) if k]


def question(texts: Texts, config: ConsentConfig) -> Reply:
    return Reply(
        say(texts, "consent_question", policy=config.policy_url).text,
        choices=(
            Choice(say(texts, "button_consent_yes").text, f"{CONSENT_PREFIX}{YES}"),
            Choice(say(texts, "button_consent_no").text, f"{CONSENT_PREFIX}{NO}"),
        ),
    )


@dataclass(frozen=True)
class ConsentBook:
    engine: AsyncEngine
    redis: Redis
    tz: tzinfo  # the tenant's zone, for the timeline's times

    async def standing(self, tenant: str, keys: list[str]) -> ConsentAnswer | None:
        return await consents.standing_of(self.engine, tenant, keys)

    async def was_asked(self, who: Person) -> bool:
        return await consents.was_asked(self.engine, who.tenant, who.keys)

    async def record(
        self, who: Person, answer: ConsentAnswer, text: str, version: str, source: str, now: datetime
    ) -> None:
        entry = ConsentRecord(
            tenant=who.tenant,
            person=person_of(who.phone, who.conversation),
            conversation=who.conversation,
            channel=who.channel,
            answer=answer,
            text=text,
            text_version=version,
            source=source,
            at=now,
        )
        await consents.record(self.engine, entry)
        note = NOTES[answer].format(version=version, channel=who.channel, source=source)
        local = now.astimezone(self.tz)
        timeline = TimelineEntry(
            key=f"consent:{answer}:{now.timestamp()}", text=note, at=local, author="Бот", on_contact=True
        )
        await append_timeline(self.redis, who.conversation, timeline)
        person = person_of(who.phone, who.conversation)
        said = Fact(f"consent:{person}:{now.timestamp()}:{answer}", Kind.CONSENT, who.tenant, now, who.conversation)
        await facts.emit(self.redis, [replace(said, channel=who.channel, person=person, service=answer.value)])

    async def answer(self, who: Person, said_yes: bool, texts: Texts, config: ConsentConfig, now: datetime) -> Reply:
        """A press of the question's yes or no: kept with the text that was shown. A press with no question
        on record (a crafted or replayed button) answers nothing: the question is asked, and kept, first."""
        shown = await consents.last_question(self.engine, who.tenant, who.keys)
        if shown is None:
            asked = question(texts, config)
            await self.record(who, ConsentAnswer.ASKED, asked.text, config.text_version, "button_unasked", now)
            return asked
        text, version = shown
        answer = ConsentAnswer.YES if said_yes else ConsentAnswer.NO
        await self.record(who, answer, text, version, "button", now)
        return Reply(say(texts, "consent_yes").text if said_yes else say(texts, "consent_no").text)
