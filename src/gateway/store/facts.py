"""Analytics facts as they happen (a lead, its first reply, a booking, a visit...), appended to a Redis
stream in the same round trip as the write that caused them, and folded into the business store by one
consumer. Each fact has a key of its own: folding it twice counts it once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from gateway.store import keys
from gateway.store.redis_result import result


class Kind:
    LEAD = "lead"  # a conversation, or a returning client's new request, started
    FIRST_REPLY = "first_reply"  # the bot's first answer to it (seconds after the message arrived)
    ASSIGNED = "assigned"  # the deal's manager (ASSIGNED_BY_ID), as last seen
    BOOKING = "booking"
    CONFIRMED = "confirmed"
    VISIT = "visit"  # with the revenue (the deal's OPPORTUNITY)
    NO_SHOW = "no_show"
    CANCELLATION = "cancellation"
    RECOVERED = "recovered"  # a visit booked through a no-show offer
    OFFER = "offer"  # a retention or upsell offer or the consent question sent (service: its kind)
    UPSELL = "upsell"  # an upsell offer accepted (service: the offer)
    CONSENT = "consent"  # a yes, no or stop (service: which)
    WAITLIST_FILLED = "waitlist_filled"  # a freed slot booked by a client from the waitlist
    DEPOSIT_PAID = "deposit_paid"  # a deposit paid for a visit (amount: rubles)
    RATING = "rating"  # a client's 1-5 for a visit (amount: the score; manager and service: the visit's)
    # app mode: a manager's first reply after the bot handed over (seconds waited; manager: who)
    MANAGER_REPLY = "manager_reply"
    SLA_MISSED = "sla_missed"  # ... that came after the hand-off's deadline


@dataclass(frozen=True)
class Fact:
    key: str  # unique per tenant: the fact's identity
    kind: str
    tenant: str
    at: datetime
    lead: str  # the conversation and episode it belongs to: salon:telegram:55#2
    channel: str = ""
    utm_source: str | None = None
    utm_campaign: str | None = None
    service: str | None = None
    person: str | None = None  # the client's phone, or the conversation before one is known
    manager: int | None = None
    amount: float | None = None  # revenue, for a visit
    seconds: float | None = None  # for a first reply

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "at": self.at.isoformat()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Fact:
        data: dict[str, Any] = json.loads(raw)
        return cls(**{**data, "at": datetime.fromisoformat(data["at"])})


def lead_key(conversation: str, episode: int) -> str:
    return conversation if episode == 1 else f"{conversation}#{episode}"


def append(pipe: Pipeline | Redis, facts: Iterable[Fact]) -> None:
    """Queue the facts on a pipeline (or send them, on a plain client) in the caller's round trip."""
    for fact in facts:
        pipe.xadd(keys.FACTS, {"f": fact.to_json()})


async def emit(redis: Redis, facts: Sequence[Fact]) -> None:
    if not facts:
        return
    async with redis.pipeline(transaction=False) as pipe:
        append(pipe, facts)
        await pipe.execute()


async def pending(redis: Redis, count: int) -> list[tuple[str, Fact]]:
    """The oldest facts not folded yet, with their stream ids."""
    rows = await result(redis.xrange(keys.FACTS, count=count))
    found = []
    for stream_id, fields in rows:
        raw = fields.get(b"f") or fields.get("f")
        sid = stream_id.decode() if isinstance(stream_id, bytes) else str(stream_id)
        found.append((sid, Fact.from_json(raw)))
    return found


async def folded(redis: Redis, stream_ids: Sequence[str]) -> None:
    """Folded into the store: off the stream."""
    if stream_ids:
        await result(redis.xdel(keys.FACTS, *stream_ids))
