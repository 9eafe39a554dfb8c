"""Accept an event: drop a re-delivery, otherwise queue it durably before the webhook answers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from domain import InboundMessage
from gateway.store import inbox, keys
from gateway.store.job_format import (
    CRM_QUEUE,
    HANDLE_BITRIX_EVENT,
    HANDLE_INBOUND,
    HANDOFF_TODO,
    INBOUND_QUEUE,
    JOB_EXPIRES_SECONDS,
    JOB_KEY_PREFIX,
    MANAGER_REPLY,
    PAYMENT_EVENT,
    PROVIDER_MESSAGE,
    QUEUE_OF,
    QUEUE_SYNC,
    RATING_TODO,
    REACH_LEAD,
    RESULT_KEY_PREFIX,
    SYNC_CRM,
    job_bytes,
    job_deserializer,
    job_serializer,
    sync_args,
    sync_keys,
)
from gateway.store.redis_result import result

logger = logging.getLogger("gateway.store.queue")


class QueueUnavailable(Exception):
    """Redis did not take the event; the caller must answer 503 so the platform retries."""


class Outcome(StrEnum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"


def inbound_job_id(event: InboundMessage) -> str:
    return f"in:{event.tenant}:{event.channel.value}:{event.dedupe_key}"


# One round trip: drop a re-delivery (our 8-day key, or arq's job or result still there), else store the
# job the way arq's enqueue_job does (job key with expiry, id in the queue's sorted set) and mark it
# seen, atomically; a client's message also joins its conversation's inbox (store/inbox.py).
# KEYS: seen, job, result, queue[, inbox]. ARGV: job id, job bytes, score ms, expires ms, seen s[, inbox entry].
_ACCEPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('SET', KEYS[1], '1', 'EX', ARGV[5])
  return 0
end
redis.call('PSETEX', KEYS[2], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[5])
if KEYS[5] then
  redis.call('RPUSH', KEYS[5], ARGV[6])
  redis.call('PEXPIRE', KEYS[5], ARGV[4])
end
return 1
"""


class Intake:
    def __init__(self, redis: ArqRedis, dedupe_seconds: int) -> None:
        self._redis = redis
        self._dedupe_seconds = dedupe_seconds
        self._accept = redis.register_script(_ACCEPT)
        # called with the queue's name and the job's id after a job is stored: a worker of this process
        # claims it at once (workers of other processes find it on their next poll)
        self.on_queued: list[Callable[[str, str], None]] = []

    async def accept(self, event: InboundMessage) -> Outcome:
        """Queue a client's message durably, or recognise it as a re-delivery; raises QueueUnavailable."""
        now_ms = int(time.time() * 1000)
        return await self.enqueue(
            keys.dedupe(event.tenant, event.channel.value, event.dedupe_key),
            inbound_job_id(event),
            HANDLE_INBOUND,
            (event.model_dump(mode="json"),),
            in_order=(keys.inbox(event.conversation_key), inbox.entry(now_ms, event.dedupe_key)),
            now_ms=now_ms,
        )

    async def enqueue(
        self,
        seen_key: str,
        job_id: str,
        function: str,
        args: tuple[Any, ...],
        *,
        in_order: tuple[str, str] | None = None,
        now_ms: int | None = None,
    ) -> Outcome:
        """Store one job on its function's queue unless `seen_key` or the job says it came before; `in_order`
        (inbox key, entry) also records a client's message in its conversation's order."""
        now_ms = now_ms or int(time.time() * 1000)
        job = job_bytes(function, args, now_ms)
        script_keys = [seen_key, JOB_KEY_PREFIX + job_id, RESULT_KEY_PREFIX + job_id, QUEUE_OF[function]]
        script_args: list[Any] = [job_id, job, now_ms, JOB_EXPIRES_SECONDS * 1000, self._dedupe_seconds]
        if in_order is not None:
            script_keys.append(in_order[0])
            script_args.append(in_order[1])
        try:
            stored = await self._accept(keys=script_keys, args=script_args)
        except (RedisError, OSError) as exc:
            logger.error("job %s not queued: %s", job_id, type(exc).__name__)
            raise QueueUnavailable(str(exc)) from exc
        if int(stored) != 1:
            return Outcome.DUPLICATE
        for wake in self.on_queued:
            wake(QUEUE_OF[function], job_id)
        return Outcome.QUEUED


async def queue_crm_sync(redis: ArqRedis, tenant: str, conversation_key: str) -> None:
    """One job id per timeline length: a re-run after a crash finds the job already there, and a new
    timeline entry always gets a sync that will post it."""
    script = redis.register_script(QUEUE_SYNC)
    await script(keys=sync_keys(conversation_key), args=sync_args(tenant, conversation_key))


async def queue_reach(redis: ArqRedis, payload: dict[str, Any], job_id: str, not_before: datetime | None) -> None:
    """On the CRM worker, which runs the lifecycle: now, or held in a schedule that the lifecycle's cron
    releases by the business clock (quiet hours end in tests too). The job id is the form's: a form
    handled twice after a crash queues one offer."""
    if not_before is None:
        await _enqueue_reach(redis, payload, job_id)
        return
    entry = json.dumps({"job_id": job_id, "payload": payload}, sort_keys=True)
    await redis.zadd(keys.reach_schedule(), {entry: not_before.timestamp()})


async def _enqueue_reach(redis: ArqRedis, payload: dict[str, Any], job_id: str) -> None:
    await redis.enqueue_job(REACH_LEAD, payload, _job_id=job_id, _queue_name=CRM_QUEUE, _expires=JOB_EXPIRES_SECONDS)


async def release_reaches(redis: ArqRedis, now: datetime, limit: int = 100) -> int:
    """Queue the held offers whose moment has come; a crash between the two steps queues one again,
    which its job id drops."""
    due = await result(redis.zrangebyscore(keys.reach_schedule(), "-inf", now.timestamp(), start=0, num=limit))
    for raw in due:
        entry = json.loads(raw)
        await _enqueue_reach(redis, entry["payload"], entry["job_id"])
        await redis.zrem(keys.reach_schedule(), raw)
    return len(due)


__all__ = [  # the job format's names, for those that queue jobs
    "CRM_QUEUE",
    "HANDLE_BITRIX_EVENT",
    "HANDLE_INBOUND",
    "INBOUND_QUEUE",
    "QUEUE_OF",
    "REACH_LEAD",
    "SYNC_CRM",
    "job_deserializer",
    "job_serializer",
]


async def queue_provider_message(
    intake: Intake, tenant: str, message_id: str, payload: dict[str, Any], release: str = ""
) -> Outcome:
    """A message Bitrix24 sent through the app's provider, keyed by its id (and, once held through quiet
    hours, by its release): a repeated call queues it once, and so does a release run twice."""
    return await intake.enqueue(
        keys.dedupe(tenant, "bitrix_app", f"sms:{message_id}{release}"),
        f"b24sms:{tenant}:{message_id}{release}",
        PROVIDER_MESSAGE,
        (tenant, payload),
    )


async def queue_handoff(
    intake: Intake, tenant: str, conversation: str, handed_at: datetime, *, deal_made: bool = False
) -> Outcome:
    """The manager's to-do for a hand-off, keyed by when it was handed: queued once by the bot, and once
    more by the sync that made the deal the first job found missing."""
    identity = f"{conversation}:{int(handed_at.timestamp() * 1000)}{':deal' if deal_made else ''}"
    args = (tenant, conversation, handed_at.isoformat())
    return await intake.enqueue(keys.dedupe(tenant, "handoff", identity), f"handoff:{identity}", HANDOFF_TODO, args)


async def queue_rating_todo(intake: Intake, tenant: str, visit_id: int, why: str) -> Outcome:
    """A low rating's to-do ("rated") and its answer ("answered"): each queued once per visit."""
    identity = f"{visit_id}:{why}"
    return await intake.enqueue(
        keys.dedupe(tenant, "rating", identity), f"rating:{tenant}:{identity}", RATING_TODO, (tenant, visit_id)
    )


async def queue_payment_event(intake: Intake, tenant: str, event: str, payment_id: str) -> Outcome:
    """A payment's notification, once per `event` (its name and body) and payment."""
    identity = f"{event}:{payment_id}"
    seen = keys.dedupe(tenant, "yookassa", identity)
    return await intake.enqueue(seen, f"pay:{tenant}:{identity}", PAYMENT_EVENT, (tenant, payment_id))


async def queue_manager_reply(intake: Intake, tenant: str, message_id: int, payload: dict[str, Any]) -> Outcome:
    """A manager's message from the Open Line, keyed by Bitrix24's message id: its event and the
    reconciliation that finds it without one queue it once between them."""
    return await intake.enqueue(
        keys.dedupe(tenant, "bitrix_app", f"msg:{message_id}"),
        f"mgr:{tenant}:{message_id}",
        MANAGER_REPLY,
        (tenant, payload),
    )
