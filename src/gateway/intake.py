"""Accept an event: drop a re-delivery, otherwise queue it durably before the webhook answers."""

from __future__ import annotations

import logging
from enum import StrEnum

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from gateway import keys
from gateway.events import InboundMessage

logger = logging.getLogger("gateway.intake")

HANDLE_INBOUND = "handle_inbound"
SYNC_CRM = "sync_crm"
# Two queues, each with its own worker: a CRM backlog (a portal at its rate limit, or down) must never
# hold back the replies clients are waiting for.
INBOUND_QUEUE = "lg:queue:inbound"
CRM_QUEUE = "lg:queue:crm"
QUEUE_OF = {HANDLE_INBOUND: INBOUND_QUEUE, SYNC_CRM: CRM_QUEUE}
JOB_EXPIRES_SECONDS = 7 * 24 * 3600  # a job waits out a long CRM outage instead of expiring


class QueueUnavailable(Exception):
    """Redis did not take the event; the caller must answer 503 so the platform retries."""


class Outcome(StrEnum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"


def inbound_job_id(event: InboundMessage) -> str:
    return f"in:{event.tenant}:{event.channel.value}:{event.dedupe_key}"


class Intake:
    def __init__(self, redis: ArqRedis, dedupe_seconds: int) -> None:
        self._redis = redis
        self._dedupe_seconds = dedupe_seconds

    async def accept(self, event: InboundMessage) -> Outcome:
        seen_key = keys.dedupe(event.tenant, event.channel.value, event.dedupe_key)
        try:
            if await self._redis.exists(seen_key):
                return Outcome.DUPLICATE
            # The deterministic id makes a racing re-delivery a no-op inside arq's own transaction.
            job = await self._redis.enqueue_job(
                HANDLE_INBOUND,
                event.model_dump(mode="json"),
                _job_id=inbound_job_id(event),
                _queue_name=INBOUND_QUEUE,
                _expires=JOB_EXPIRES_SECONDS,
            )
            # Marked only after the job is stored: a failure in between gives 503 and a retry,
            # which finds the job by its id and succeeds then.
            await self._redis.set(seen_key, "1", ex=self._dedupe_seconds)
        except (RedisError, OSError) as exc:
            logger.error("event %s not queued: %s", event.dedupe_key, type(exc).__name__)
            raise QueueUnavailable(str(exc)) from exc
        return Outcome.QUEUED if job is not None else Outcome.DUPLICATE
