"""Queue a conversation's CRM sync: from a client's message, a reminder's note, a portal change."""

from __future__ import annotations

from arq.connections import ArqRedis

from gateway.store import keys
from gateway.store.queue import CRM_QUEUE, JOB_EXPIRES_SECONDS, SYNC_CRM
from gateway.store.redis_result import result


async def queue_crm_sync(redis: ArqRedis, tenant: str, conversation_key: str) -> None:
    """One job id per timeline length: a re-run after a crash finds the job already there, and a new
    timeline entry always gets a sync that will post it."""
    entries = await result(redis.llen(keys.timeline(conversation_key)))
    await redis.enqueue_job(
        SYNC_CRM,
        tenant,
        conversation_key,
        _job_id=f"crm:{conversation_key}:{entries}",
        _queue_name=CRM_QUEUE,
        _expires=JOB_EXPIRES_SECONDS,
    )
