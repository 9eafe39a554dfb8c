"""Per-conversation state in Redis: the dialogue, the CRM link, the timeline still to post."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from domain import Attribution, Channel, Reply, Unbookable
from domain.addresses import addresses_of
from gateway.store import keys
from gateway.store.budgets import count_use
from gateway.store.facts import Fact
from gateway.store.facts import append as append_facts
from gateway.store.job_format import sync_writes
from gateway.store.redis_result import result

PROCESSED_KEPT = 200


class DialogueState(BaseModel):
    conversation_key: str
    tenant: str
    channel: Channel
    chat_id: str
    sender_id: str
    name: str | None = None
    username: str | None = None
    attribution: Attribution | None = None
    service_ids: list[str] = []
    time_start: AwareDatetime | None = None
    time_end: AwareDatetime | None = None
    time_refused: Unbookable | None = None  # the last time asked for could not be booked, and why
    phone: str | None = None
    intent: str = "other"
    asked: list[str] = []  # slots the bot has asked for, in order
    confirmed: bool = False
    handed_off: bool = False
    greeted: bool = False
    message_count: int = 0  # the client's events on the timeline: none yet, and the conversation is not in the CRM
    last_inbound_at: AwareDatetime | None = None
    channel_phone: str | None = None  # the number the platform says the client writes from
    # The phone the platform vouches is this person's (WhatsApp's wa_id, an SMS sender, a Telegram
    # contact shared by its own owner). Only it says who the person is across conversations: a phone
    # typed in a chat or a form (`phone`) goes to the deal and the visit, and steers nothing else.
    vouched_phone: str | None = None
    processed: list[str] = []  # dedupe keys fully handled
    recorded: list[str] = []  # dedupe keys whose message is in the state and timeline
    pending: dict[str, Reply] = {}  # replies decided but not yet delivered, by dedupe key
    visit_id: int | None = None  # the visit booked in this episode (business store id)
    unreachable: bool = False  # the client blocked the bot (a 403, or Telegram's my_chat_member)
    episode: int = 1  # a returning client's new request after a closed deal is episode 2, 3...
    lead_episode: int = 0  # the episode whose lead fact was recorded
    replied_episode: int = 0  # the episode whose first reply was recorded

    def start_episode(self, episode: int) -> None:
        """A returning client's new request: what they want is asked anew; who they are is kept."""
        self.service_ids, self.time_start, self.time_end, self.time_refused = [], None, None, None
        self.intent, self.asked, self.confirmed, self.handed_off = "other", [], False, False
        self.visit_id, self.attribution, self.episode = None, None, episode

    def missing(self) -> list[str]:
        have = {"service": bool(self.service_ids), "time": self.time_start is not None, "phone": bool(self.phone)}
        return [slot for slot in ("service", "time", "phone") if not have[slot]]

    def addresses(self) -> tuple[str, ...]:
        """Where this client is reached in this conversation (none for a form: it has no chat)."""
        if self.channel in (Channel.FORM, Channel.SMS):
            return ()
        return addresses_of(self.channel.value, self.chat_id, self.vouched_phone, self.username)

    def window_closed(self, window: timedelta | None, now: datetime) -> bool:
        """The platform's customer-service window (None: none) has closed since the client last wrote."""
        return window is not None and self.last_inbound_at is not None and now - self.last_inbound_at > window

    def mark(self, field: str, dedupe_key: str) -> None:
        bucket: list[str] = getattr(self, field)
        if dedupe_key not in bucket:
            bucket.append(dedupe_key)
            del bucket[:-PROCESSED_KEPT]


class CrmLink(BaseModel):
    portal: str | None = None  # the portal these ids were learned from (None: before links carried it)
    deal_verified: bool = False  # the deal was checked in that portal to be ours (ORIGINATOR_ID, ORIGIN_ID)
    contact_verified: bool = False  # the contact was checked to carry this client's identity or phone
    contact_id: int | None = None
    deal_id: int | None = None
    deal_pending: bool = False  # crm.deal.add was sent; look up by ORIGIN_ID before resending
    identity_linked: bool = False
    phone_on_contact: str | None = None
    deal_digest: str | None = None  # what the deal last got, to update only on change
    qualified: bool = False  # the deal was moved to the tenant's qualified stage (done once)
    timeline_posted: int = 0  # entries of the timeline list already on the deal
    timeline_pending: bool = False  # comments were sent; their outcome may be unknown
    visit_stage: str | None = None  # the visit status whose stage the deal last got (from us or the portal)
    visit_written: str | None = None  # the visit start the deal's visit field last got
    episode: int = 1  # which of the conversation's deals this link is for
    closed: bool = False  # the deal reached a final stage: the next message opens a new deal
    returning: bool = False  # the deal is a returning client's (IS_RETURN_CUSTOMER)

    def next_episode(self, timeline_length: int) -> CrmLink:
        """The link of a returning client's next deal: the same contact, a new deal that gets only the
        messages from here on."""
        return CrmLink(
            portal=self.portal,
            contact_id=self.contact_id,
            contact_verified=self.contact_verified,
            identity_linked=self.identity_linked,
            phone_on_contact=self.phone_on_contact,
            timeline_posted=timeline_length,
            episode=self.episode + 1,
            returning=True,
        )

    def origin_id(self, conversation: str) -> str:
        """ORIGIN_ID of this episode's deal: the conversation key, with `#n` from the second deal on."""
        return conversation if self.episode == 1 else f"{conversation}#{self.episode}"


class TimelineEntry(BaseModel):
    key: str
    text: str
    at: datetime
    author: str = "Клиент"
    on_contact: bool = False  # about the person, not this deal (a consent given or withdrawn)


async def append_timeline(redis: Redis, conversation: str, entry: TimelineEntry) -> None:
    """A note of the bot's own (a reminder sent, a visit moved in the portal) for the deal's timeline."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rpush(keys.timeline(conversation), entry.model_dump_json())
        pipe.expire(keys.timeline(conversation), keys.CONVERSATION_TTL_SECONDS)
        await pipe.execute()


async def load_dialogue(redis: Redis, key: str) -> DialogueState | None:
    raw = await redis.get(keys.dialogue(key))
    return DialogueState.model_validate_json(raw) if raw else None


async def save_dialogue(redis: Redis, state: DialogueState, facts: Sequence[Fact] = ()) -> None:
    """The state, with the analytics facts it records (flags on the state), in one transaction."""
    if not facts:
        await redis.set(
            keys.dialogue(state.conversation_key), state.model_dump_json(), ex=keys.CONVERSATION_TTL_SECONDS
        )
        return
    async with redis.pipeline(transaction=True) as pipe:
        dialogue_writes(pipe, state, facts)
        await pipe.execute()


def dialogue_writes(pipe: Pipeline, state: DialogueState, facts: Sequence[Fact] = ()) -> None:
    """What saving the state (and the facts it records) writes, added to a pipeline."""
    pipe.set(keys.dialogue(state.conversation_key), state.model_dump_json(), ex=keys.CONVERSATION_TTL_SECONDS)
    append_facts(pipe, facts)


async def load_link(redis: Redis, key: str) -> CrmLink:
    raw = await redis.get(keys.crm_link(key))
    return CrmLink.model_validate_json(raw) if raw else CrmLink()


async def save_link(redis: Redis, key: str, link: CrmLink) -> None:
    await redis.set(keys.crm_link(key), link.model_dump_json(), ex=keys.CONVERSATION_TTL_SECONDS)


def link_writes(pipe: Pipeline, key: str, link: CrmLink) -> None:
    """save_link, in the caller's transaction."""
    pipe.set(keys.crm_link(key), link.model_dump_json(), ex=keys.CONVERSATION_TTL_SECONDS)


async def record_message(
    redis: Redis,
    state: DialogueState,
    entry: TimelineEntry,
    facts: Sequence[Fact] = (),
    *,
    count_reply: bool = False,
    to_crm: bool = True,
) -> int:
    """The timeline entry, the state that marks it recorded and the CRM sync that will post it, in one
    transaction: a crash between separate writes would leave the entry without the mark (the retry
    would add it again) or without a sync. `count_reply`: the reply it got counts against the
    conversation's budget; returns the replies counted in the budget's window so far (0 if not).
    `to_crm` False: only the state and the address book (an event that is nothing said opens no deal)."""
    key = state.conversation_key
    async with redis.pipeline(transaction=True) as pipe:
        if count_reply:
            count_use(pipe, keys.reply_budget(key), keys.REPLY_BUDGET_WINDOW_SECONDS)
        if to_crm:
            pipe.rpush(keys.timeline(key), entry.model_dump_json())
            pipe.expire(keys.timeline(key), keys.CONVERSATION_TTL_SECONDS)
        pipe.set(keys.dialogue(key), state.model_dump_json(), ex=keys.CONVERSATION_TTL_SECONDS)
        for entry_address in state.addresses():  # the address book: as long as the conversation is kept
            pipe.set(keys.address(state.tenant, entry_address), key, ex=keys.CONVERSATION_TTL_SECONDS)
        append_facts(pipe, facts)
        if to_crm:
            sync_writes(pipe, state.tenant, key)
        done = await pipe.execute()
    return int(done[0]) if count_reply else 0


async def reached_at(redis: Redis, tenant: str, entries: Sequence[str]) -> list[str]:
    """The conversations these addresses lead to, in the order given, each once."""
    if not entries:
        return []
    found = await result(redis.mget([keys.address(tenant, e) for e in entries]))
    conversations = [c.decode() if isinstance(c, bytes) else c for c in found if c]
    return list(dict.fromkeys(conversations))


async def timeline_from(redis: Redis, key: str, start: int) -> list[TimelineEntry]:
    raw = await result(redis.lrange(keys.timeline(key), start, -1))
    return [TimelineEntry.model_validate_json(r) for r in raw]


async def mark_unreachable(redis: Redis, key: str) -> None:
    """A send found the client has blocked the bot: kept on the dialogue until they write again."""
    async with redis.lock(keys.conversation_lock(key), timeout=60, blocking_timeout=60):
        state = await load_dialogue(redis, key)
        if state is not None and not state.unreachable:
            state.unreachable = True
            await save_dialogue(redis, state)
