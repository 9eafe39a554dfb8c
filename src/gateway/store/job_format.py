"""Jobs as arq stores and reads them, written without importing arq: the queues' and functions' names,
the job's bytes and key names, and queueing a CRM sync inside a caller's transaction. Use cases reach
storage, and storage they reach must not bring in a job framework (tests check the names against arq)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio.client import Pipeline

from gateway.store import keys

HANDLE_INBOUND = "handle_inbound"
SYNC_CRM = "sync_crm"
# Two queues, each with its own worker: a CRM backlog (a portal at its rate limit, or down) must never
# hold back the replies clients are waiting for.
INBOUND_QUEUE = "lg:queue:inbound"
CRM_QUEUE = "lg:queue:crm"
HANDLE_BITRIX_EVENT = "handle_bitrix_event"
REACH_LEAD = "reach_lead"  # a website form's lead offered slots on a messenger the gateway knows them on
# Bitrix24 app mode. A manager's reply and the end of their dialog are on a client's path (the inbound
# queue); the app's setup and the chat's mirror into the Open Line are not.
MANAGER_REPLY = "manager_reply"
DIALOG_FINISH = "dialog_finish"
APP_SETUP = "app_setup"
MIRROR_CHAT = "mirror_chat"
HANDOFF_TODO = "handoff_todo"  # the bot handed the client over: a to-do for the deal's responsible
PROVIDER_MESSAGE = "provider_message"  # a robot's message through the app's provider, to the client
PAYMENT_EVENT = "payment_event"  # a payment provider says a payment changed: read it back and settle
RATING_TODO = "rating_todo"  # a low rating: the deal's responsible gets a to-do, later with the answer


@dataclass(frozen=True)
class JobKind:
    """One kind of job: the queue its worker takes it from, and the seconds it may run before it is
    retried (a Bitrix24 request may take 60 s). The worker's handlers are checked against this list."""

    name: str
    queue: str
    deadline: float


JOBS = {
    kind.name: kind
    for kind in (
        JobKind(HANDLE_INBOUND, INBOUND_QUEUE, 50.0),
        JobKind(SYNC_CRM, CRM_QUEUE, 90.0),
        JobKind(HANDLE_BITRIX_EVENT, CRM_QUEUE, 30.0),
        JobKind(REACH_LEAD, CRM_QUEUE, 50.0),
        JobKind(MANAGER_REPLY, INBOUND_QUEUE, 30.0),
        JobKind(DIALOG_FINISH, INBOUND_QUEUE, 10.0),
        JobKind(APP_SETUP, CRM_QUEUE, 90.0),
        JobKind(MIRROR_CHAT, CRM_QUEUE, 60.0),
        JobKind(HANDOFF_TODO, CRM_QUEUE, 60.0),
        JobKind(PROVIDER_MESSAGE, INBOUND_QUEUE, 50.0),
        JobKind(RATING_TODO, CRM_QUEUE, 60.0),
        JobKind(PAYMENT_EVENT, CRM_QUEUE, 60.0),
    )
}
QUEUE_OF = {name: kind.queue for name, kind in JOBS.items()}
JOB_EXPIRES_SECONDS = 7 * 24 * 3600  # a job waits out a long CRM outage instead of expiring


JOB_KEY_PREFIX = "arq:job:"
RESULT_KEY_PREFIX = "arq:result:"
IN_PROGRESS_KEY_PREFIX = "arq:in-progress:"
RETRY_KEY_PREFIX = "arq:retry:"
ABORTED_JOBS = "arq:abort"


def job_bytes(function: str, args: tuple[Any, ...], enqueue_ms: int) -> bytes:
    """A job as arq's worker reads it: try, function, args, kwargs, enqueue time."""
    return job_serializer({"t": None, "f": function, "a": args, "k": {}, "et": enqueue_ms})


# One round trip for what arq's enqueue_job does in three, plus the timeline's length the job id carries.
# KEYS: timeline, CRM queue. ARGV: job id without the length, job key prefix, result key prefix, job bytes,
# expires ms, score ms. The job keys are built here from the length (a single Redis, not a cluster).
QUEUE_SYNC = """
local id = ARGV[1] .. redis.call('LLEN', KEYS[1])
if redis.call('EXISTS', ARGV[2] .. id) == 1 or redis.call('EXISTS', ARGV[3] .. id) == 1 then return 0 end
redis.call('PSETEX', ARGV[2] .. id, ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[6], id)
return 1
"""


def job_serializer(value: Any) -> bytes:
    """Jobs as JSON (arq's default is pickle): readable in Redis, and no code runs when one is read."""
    return json.dumps(value, ensure_ascii=False, default=str).encode()


def job_deserializer(raw: bytes) -> Any:
    return json.loads(raw)


def sync_writes(pipe: Pipeline, tenant: str, conversation_key: str) -> None:
    """Queue the conversation's CRM sync in the caller's transaction, after its timeline is written."""
    pipe.eval(QUEUE_SYNC, 2, *sync_keys(conversation_key), *sync_args(tenant, conversation_key))


def sync_keys(conversation_key: str) -> list[str]:
    return [keys.timeline(conversation_key), CRM_QUEUE]


def sync_args(tenant: str, conversation_key: str) -> list[Any]:
    now_ms = int(time.time() * 1000)
    job = job_bytes(SYNC_CRM, (tenant, conversation_key), now_ms)
    prefixes = [f"crm:{conversation_key}:", JOB_KEY_PREFIX, RESULT_KEY_PREFIX]
    return [*prefixes, job, JOB_EXPIRES_SECONDS * 1000, now_ms]


@dataclass
class JobFinish:
    """What arq writes when a job ends well, for a handler to put in its own last transaction: the job's
    end is then atomic with the handler's last writes, and arq's own finish is skipped (a round trip)."""

    queue: str
    job_id: str
    function: str
    args: tuple[Any, ...]
    job_try: int
    enqueue_ms: int
    started_ms: int
    keep_result_ms: int
    finished: set[str]  # the worker's: job ids whose end was written here

    def writes(self, pipe: Pipeline, result: str = "done") -> None:
        now_ms = int(time.time() * 1000)
        record = {
            "t": self.job_try,
            "f": self.function,
            "a": self.args,
            "k": {},
            "et": self.enqueue_ms,
            "s": True,
            "r": result,
            "st": self.started_ms,
            "ft": now_ms,
            "q": self.queue,
            "id": self.job_id,
        }
        pipe.set(RESULT_KEY_PREFIX + self.job_id, job_serializer(record), px=self.keep_result_ms)
        pipe.zrem(ABORTED_JOBS, self.job_id)
        pipe.zrem(self.queue, self.job_id)
        ids = (IN_PROGRESS_KEY_PREFIX, RETRY_KEY_PREFIX, JOB_KEY_PREFIX)
        pipe.delete(*(prefix + self.job_id for prefix in ids))

    def committed(self) -> None:
        self.finished.add(self.job_id)
