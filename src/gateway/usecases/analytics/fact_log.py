"""Build the analytics facts of what just happened, tagged with what the owner's numbers are keyed by:
the conversation's channel and first-touch UTM tags, the service, the person, the manager."""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from domain import Visit
from gateway.store import facts as stream
from gateway.store.conversations import DialogueState, load_dialogue
from gateway.store.facts import Fact, Kind, lead_key


def of_dialogue(state: DialogueState, kind: str, key: str, at: datetime, **values: object) -> Fact:
    utm = state.attribution
    return Fact(
        key=key,
        kind=kind,
        tenant=state.tenant,
        at=at,
        lead=lead_key(state.conversation_key, state.episode),
        channel=state.channel.value,
        utm_source=utm.utm_source if utm else None,
        utm_campaign=utm.utm_campaign if utm else None,
        service=state.service_ids[0] if state.service_ids else None,
        person=state.phone or state.conversation_key,
        **values,  # type: ignore[arg-type]
    )


def lead(state: DialogueState, at: datetime) -> Fact:
    return of_dialogue(state, Kind.LEAD, f"lead:{lead_key(state.conversation_key, state.episode)}", at)


def first_reply(state: DialogueState, at: datetime, seconds: float) -> Fact:
    key = f"first_reply:{lead_key(state.conversation_key, state.episode)}"
    return of_dialogue(state, Kind.FIRST_REPLY, key, at, seconds=round(seconds, 3))


async def of_visit(redis: Redis, visit: Visit, kind: str, at: datetime, key: str | None = None) -> Fact:
    """A fact about a visit, tagged from its conversation (as Redis still has it)."""
    return _visit_fact(await load_dialogue(redis, visit.conversation), visit, kind, at, key)


def _visit_fact(state: DialogueState | None, visit: Visit, kind: str, at: datetime, key: str | None = None) -> Fact:
    utm = state.attribution if state is not None else None
    return Fact(
        key=key or f"{kind}:{visit.id}",
        kind=kind,
        tenant=visit.tenant,
        at=at,
        lead=lead_key(visit.conversation, state.episode if state is not None else 1),
        channel=visit.channel or (state.channel.value if state is not None else ""),
        utm_source=utm.utm_source if utm else None,
        utm_campaign=utm.utm_campaign if utm else None,
        service=visit.services[0] if visit.services else None,
        person=visit.phone or visit.conversation,
        manager=visit.manager_id,
        amount=visit.revenue if kind == Kind.VISIT else None,
    )


async def visit_facts(redis: Redis, visit: Visit, kinds: list[str], at: datetime) -> None:
    """Facts of these kinds about a visit, its conversation read once for all of them."""
    state = await load_dialogue(redis, visit.conversation)
    await stream.emit(redis, [_visit_fact(state, visit, kind, at) for kind in kinds])
