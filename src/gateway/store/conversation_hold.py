"""Taking a conversation to handle one of its messages: its lock, its state and its inbox in one round
trip, and at the end its state saved and the lock released in one more. The CRM sync takes its own lock
the same way, with the state, the CRM link and the timeline entries not yet on the deal.

The lock is the same key and token scheme as redis-py's `Lock` (a random token set with NX and an
expiry; released only by the holder of the token), so holders of either kind exclude each other.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import LockError

from gateway.store import keys
from gateway.store.conversations import CrmLink, DialogueState, TimelineEntry, dialogue_writes
from gateway.store.facts import Fact
from gateway.store.job_format import JobFinish

# KEYS: lock, dialogue, inbox. ARGV: token, lease (ms). {1, state or nil, inbox entries} when taken, {0} not.
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2]), redis.call('LRANGE', KEYS[3], 0, -1)}
end
return {0}
"""
# KEYS: lock. ARGV: token.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
RETRY_SECONDS = 0.1  # while another job holds the conversation


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Held:
    """A conversation taken: its state as stored (None: new) and its inbox, oldest first."""

    redis: Redis
    conversation: str
    token: str
    state: DialogueState | None
    inbox: list[str] = field(default_factory=list)
    released: bool = False

    async def save_and_release(
        self, state: DialogueState, facts: Sequence[Fact] = (), job: JobFinish | None = None
    ) -> None:
        """The state (with the facts it records), the release and the end of the job that handled the
        message, in one transaction."""
        async with self.redis.pipeline(transaction=True) as pipe:
            dialogue_writes(pipe, state, facts)
            pipe.eval(_RELEASE, 1, keys.conversation_lock(self.conversation), self.token)
            if job is not None:
                job.writes(pipe)
            await pipe.execute()
        self.released = True
        if job is not None:
            job.committed()

    async def release(self) -> None:
        release = self.redis.register_script(_RELEASE)
        await release(keys=[keys.conversation_lock(self.conversation)], args=[self.token])
        self.released = True


async def _take(
    redis: Redis, script: str, names: list[str], token: str, lease_seconds: float, wait: float, *extra: str
) -> Any:
    """Run a take script until it has the lock (its first key); LockError after `wait` seconds."""
    deadline, take = time.monotonic() + wait, redis.register_script(script)
    while True:
        taken = await take(keys=names, args=[token, int(lease_seconds * 1000), *extra])
        if int(taken[0]) == 1:
            return taken
        if time.monotonic() >= deadline:
            raise LockError(f"{names[0]} is held by another job")  # type: ignore[no-untyped-call]
        await asyncio.sleep(RETRY_SECONDS)


@asynccontextmanager
async def hold(redis: Redis, conversation: str, lease_seconds: float, wait_seconds: float) -> AsyncIterator[Held]:
    """The conversation, taken for at most `lease_seconds`; LockError after `wait_seconds` of waiting."""
    token = uuid.uuid4().hex
    names = [keys.conversation_lock(conversation), keys.dialogue(conversation), keys.inbox(conversation)]
    taken = await _take(redis, _TAKE, names, token, lease_seconds, wait_seconds)
    raw, entries = taken[1], taken[2]
    state = DialogueState.model_validate_json(raw) if raw else None
    held = Held(redis, conversation, token, state, [_text(e) for e in entries])
    try:
        yield held
    finally:
        if not held.released:
            await held.release()


# KEYS: CRM lock, dialogue, CRM link, timeline. ARGV: token, lease (ms), the person-contact key's prefix.
# Taken: {1, state, link, the timeline from the first entry the link says is not on the deal yet, that
# index, the person's cached contact id when the link has none}; else {0}.
_TAKE_FOR_SYNC = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local state = redis.call('GET', KEYS[2])
local link = redis.call('GET', KEYS[3])
local start, contact, person = 0, nil, false
if link then
  local ok, decoded = pcall(cjson.decode, link)
  if ok and type(decoded) == 'table' then
    if type(decoded['timeline_posted']) == 'number' then start = decoded['timeline_posted'] end
    contact = decoded['contact_id']
  end
end
if state and (contact == nil or contact == cjson.null) then
  local ok, decoded = pcall(cjson.decode, state)
  if ok and type(decoded) == 'table' and decoded['channel'] and decoded['sender_id'] then
    person = redis.call('GET', ARGV[3] .. decoded['channel'] .. ':' .. decoded['sender_id'])
  end
end
return {1, state, link, redis.call('LRANGE', KEYS[4], start, -1), start, person}
"""


@dataclass
class HeldForSync:
    """A conversation taken by its CRM sync: state, link, the timeline from `start` and the person's
    cached contact id (as read then)."""

    state: DialogueState | None
    link: CrmLink
    timeline: list[TimelineEntry]
    start: int
    person: str | None
    redis: Redis
    lock: str
    token: str
    released: bool = False
    # the sync's last writes, held back to go with the release (or with the sync's next write, first)
    deferred: list[Callable[[Pipeline], None]] = field(default_factory=list)

    def defer(self, writes: Callable[[Pipeline], None]) -> None:
        self.deferred.append(writes)

    async def write(self, writes: Callable[[Pipeline], None] | None = None) -> None:
        """What was deferred, then `writes`, in one transaction (in that order: the later wins)."""
        if not self.deferred and writes is None:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            self._add_deferred(pipe)
            if writes is not None:
                writes(pipe)
            await pipe.execute()
        self.deferred.clear()

    async def release_and_end(self, job: JobFinish | None = None) -> None:
        """What was deferred, the lock's release and the sync's job's end, in one transaction."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._add_deferred(pipe)
            pipe.eval(_RELEASE, 1, self.lock, self.token)
            if job is not None:
                job.writes(pipe)
            await pipe.execute()
        self.deferred.clear()
        self.released = True
        if job is not None:
            job.committed()

    def _add_deferred(self, pipe: Pipeline) -> None:
        for writes in self.deferred:
            writes(pipe)


@asynccontextmanager
async def hold_for_sync(
    redis: Redis, conversation: str, scope: str, lease_seconds: float, wait_seconds: float
) -> AsyncIterator[HeldForSync]:
    """The CRM sync's lock with what the sync reads first, in one round trip; released when done.
    `scope`: the tenant and portal the person-contact cache is kept for (CrmContext.scope)."""
    token = uuid.uuid4().hex
    lock = keys.crm_lock(conversation)
    names = [lock, keys.dialogue(conversation), keys.crm_link(conversation), keys.timeline(conversation)]
    args_extra = keys.person_contact(scope, "", "")[:-1]  # the key without its channel and sender
    taken = await _take(redis, _TAKE_FOR_SYNC, names, token, lease_seconds, wait_seconds, args_extra)
    state = DialogueState.model_validate_json(taken[1]) if taken[1] else None
    link = CrmLink.model_validate_json(taken[2]) if taken[2] else CrmLink()
    timeline = [TimelineEntry.model_validate_json(raw) for raw in taken[3]]
    person = _text(taken[5]) if len(taken) > 5 and taken[5] else None
    held = HeldForSync(state, link, timeline, int(taken[4]), person, redis, lock, token)
    try:
        yield held
    finally:
        if not held.released:  # a sync that failed part way still keeps what it did (deferred writes)
            await held.release_and_end()
