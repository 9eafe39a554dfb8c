"""Each conversation's messages in the order they were queued, until each is handled.

The intake adds a message here in the same step that queues it; a recorded one, or one given up on, is
dropped by the next look at the list (or expires with the job). A job that finds an earlier message of
its conversation still here waits for it, so messages are recorded in order even when a crashed
worker's job is re-run after a later one's.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from gateway.store import keys
from gateway.store.redis_result import result


def entry(received_ms: int, dedupe_key: str) -> str:
    return f"{received_ms}|{dedupe_key}"


async def earlier_waiting(
    redis: Redis,
    conversation: str,
    entries: list[str],
    dedupe_key: str,
    handled: list[str],
    give_up_ms: int,
) -> str | None:
    """The dedupe key of a message queued before `dedupe_key` and not yet handled, if any.

    Entries already handled, and any waiting longer than `give_up_ms` (its job parked or lost), are
    dropped on the way: they no longer hold the others back, nor make the list grow. How long an entry
    waited is counted on the queue's own clock (the wall clock the intake stamped it with, as arq scores
    jobs), not the business clock, which a test or a replay may set elsewhere.
    """
    now_ms = int(time.time() * 1000)
    name = keys.inbox(conversation)
    for text in entries:  # the inbox as read when the conversation was taken (store/conversation_hold.py)
        stamp, _, key = text.partition("|")
        if key == dedupe_key:
            return None
        if key not in handled and stamp.isdigit() and now_ms - int(stamp) < give_up_ms:
            return key
        await result(redis.lrem(name, 0, text))
    return None


async def give_up(redis: Redis, conversation: str, dedupe_key: str) -> None:
    """Drop a message whose job was parked: the conversation's later messages go on at once instead of
    waiting out the give-up time. A replay from the dead-letter queue is handled whenever it comes."""
    name = keys.inbox(conversation)
    for text in await result(redis.lrange(name, 0, -1)):
        raw = text.decode() if isinstance(text, bytes) else text
        if raw.partition("|")[2] == dedupe_key:
            await result(redis.lrem(name, 0, raw))
