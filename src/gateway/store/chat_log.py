"""The client's chat as an Open Line shows it (Bitrix24 app mode): what the client and the bot said, in
order, each once, with the job that mirrors it into the line queued in the same round trip."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Literal

from redis.asyncio import Redis

from gateway.store import keys
from gateway.store.job_format import (
    CRM_QUEUE,
    JOB_EXPIRES_SECONDS,
    JOB_KEY_PREFIX,
    MIRROR_CHAT,
    RESULT_KEY_PREFIX,
    job_bytes,
    job_deserializer,
    job_serializer,
)
from gateway.store.redis_result import result

Author = Literal["client", "bot"]


@dataclass(frozen=True)
class ChatEntry:
    key: str  # what makes it itself (the message's dedupe key, the reply's key): logged once
    author: Author
    text: str
    at: float  # unix time
    name: str = ""  # the client's name as the chat shows it
    files: list[dict[str, str]] = field(default_factory=list)  # {url, name} Bitrix24 can open


# KEYS: logged keys, log, CRM queue. ARGV: entry key, entry, ttl s, job id prefix, job key prefix, result key
# prefix, job bytes, job expiry ms, score ms. The job id carries the log's length, so every entry queues a
# job of its own (a mirror that already took it finds nothing left and ends).
_APPEND = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
local id = ARGV[4] .. redis.call('LLEN', KEYS[2])
if redis.call('EXISTS', ARGV[5] .. id) == 1 or redis.call('EXISTS', ARGV[6] .. id) == 1 then return 1 end
redis.call('PSETEX', ARGV[5] .. id, ARGV[8], ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[9], id)
return 1
"""


async def append(redis: Redis, tenant: str, conversation: str, entry: ChatEntry) -> bool:
    """Log an entry and queue its mirror; False when the entry was logged before."""
    now_ms = int(time.time() * 1000)
    job = job_bytes(MIRROR_CHAT, (tenant, conversation), now_ms)
    logged = await result(
        redis.eval(
            _APPEND,
            3,
            keys.chat_logged(conversation),
            keys.chat_log(conversation),
            CRM_QUEUE,
            entry.key,
            job_serializer(asdict(entry)).decode(),
            str(keys.CONVERSATION_TTL_SECONDS),
            f"mirror:{conversation}:",
            JOB_KEY_PREFIX,
            RESULT_KEY_PREFIX,
            job.decode(),
            str(JOB_EXPIRES_SECONDS * 1000),
            str(now_ms),
        )
    )
    return bool(logged)


async def unmirrored(redis: Redis, conversation: str, limit: int) -> tuple[int, list[ChatEntry]]:
    """(how many the line has taken, the next entries after them)."""
    posted = int(await result(redis.get(keys.chat_mirrored(conversation))) or 0)
    raw = await result(redis.lrange(keys.chat_log(conversation), posted, posted + limit - 1))
    return posted, [ChatEntry(**job_deserializer(item)) for item in raw]


async def mirrored(redis: Redis, conversation: str, count: int) -> None:
    await result(redis.set(keys.chat_mirrored(conversation), count, ex=keys.CONVERSATION_TTL_SECONDS))
