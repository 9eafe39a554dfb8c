"""The arq worker: jobs, and the one retry policy (backoff, then the dead-letter queue)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.worker import Worker, func

from bitrix.errors import BitrixAuthError, BitrixRequestError
from domain import InboundMessage, SendRejected
from gateway.bootstrap import Runtime
from gateway.jobs.claiming import FINISHED_JOBS, OneTripClaim
from gateway.jobs.guard import JOB_DEADLINES, PARKED, guarded
from gateway.jobs.lifecycle import lifecycle_crons
from gateway.jobs.visit_jobs import payment_event, rating_todo, reach_lead
from gateway.store import inbox, keys
from gateway.store.conversation_hold import hold_for_sync
from gateway.store.job_format import PAYMENT_EVENT, RATING_TODO, JobFinish
from gateway.store.queue import (
    CRM_QUEUE,
    HANDLE_BITRIX_EVENT,
    HANDLE_INBOUND,
    INBOUND_QUEUE,
    QUEUE_OF,
    REACH_LEAD,
    SYNC_CRM,
    queue_crm_sync,
    queue_handoff,
)
from gateway.store.redis_connection import ROLE
from gateway.usecases.conversation.context import ReplyOutcome
from gateway.usecases.conversation.incoming import handle_message
from gateway.usecases.crm.deal_reads import deal_exists, forget_deal
from gateway.usecases.crm.sync import sync_conversation
from gateway.usecases.manager_chat import handoff

logger = logging.getLogger("gateway.jobs.worker")

HEARTBEAT_SECONDS = 10
KEEP_RESULT_SECONDS = 3600  # a job's result key: a re-delivered update within the hour is still a duplicate


async def handle_inbound(ctx: dict[str, Any], payload: dict[str, Any]) -> str:
    runtime: Runtime = ctx["runtime"]
    tenant = str(payload.get("tenant", "?"))

    async def work() -> str:
        job = _job_finish(ctx, INBOUND_QUEUE, HANDLE_INBOUND, (payload,))
        return await _handle(runtime, InboundMessage.model_validate(payload), job)

    ids = {"event_id": str(payload.get("dedupe_key", "?"))}
    if "channel" in payload and "chat_id" in payload:
        ids["conversation"] = f"{tenant}:{payload['channel']}:{payload['chat_id']}"
    outcome = await guarded(ctx, HANDLE_INBOUND, [payload], tenant, work, **ids)
    if outcome == PARKED and "conversation" in ids:  # a poisoned message no longer holds up the client's next
        await inbox.give_up(runtime.redis, ids["conversation"], ids["event_id"])
    return outcome


def _job_finish(ctx: dict[str, Any], queue: str, function: str, args: tuple[Any, ...]) -> JobFinish | None:
    """The job's end, for the handler to write with its own last transaction (see OneTripClaim)."""
    finished = ctx.get(FINISHED_JOBS)
    if finished is None or "job_id" not in ctx:
        return None
    enqueued = ctx.get("enqueue_time")
    return JobFinish(
        queue=queue,
        job_id=str(ctx["job_id"]),
        function=function,
        args=args,
        job_try=int(ctx.get("job_try", 1)),
        enqueue_ms=int(enqueued.timestamp() * 1000) if isinstance(enqueued, datetime) else 0,
        started_ms=int(time.time() * 1000),
        keep_result_ms=KEEP_RESULT_SECONDS * 1000,
        finished=finished,
    )


async def _handle(runtime: Runtime, event: InboundMessage, job: JobFinish | None = None) -> str:
    if event.tenant not in runtime.tenants:
        raise SendRejected(f"tenant {event.tenant!r} is no longer configured")
    conversation = runtime.conversation_context(event.tenant, event.channel.value)

    async def queue_sync() -> None:
        await queue_crm_sync(runtime.redis, event.tenant, event.conversation_key)

    outcome = await handle_message(conversation, event, runtime.clock(), queue_sync, job)
    if outcome in (ReplyOutcome.SENT, ReplyOutcome.CREDENTIALS_REJECTED):
        await runtime.health.record(event.tenant, event.channel.value, outcome == ReplyOutcome.SENT, outcome)
    if outcome != ReplyOutcome.REPLAYED:
        runtime.metrics.replies.labels(event.channel.value, outcome).inc()
    if outcome == ReplyOutcome.SENT:
        runtime.metrics.first_reply_seconds.labels(event.channel.value).observe(
            (runtime.clock() - event.received_at).total_seconds()
        )
    return "replayed" if outcome == ReplyOutcome.REPLAYED else "done"


async def sync_crm(ctx: dict[str, Any], tenant: str, conversation_key: str) -> str:
    runtime: Runtime = ctx["runtime"]

    async def work() -> str:
        if tenant not in runtime.tenants:
            raise SendRejected(f"tenant {tenant!r} is no longer configured")
        job = _job_finish(ctx, CRM_QUEUE, SYNC_CRM, (tenant, conversation_key))
        return await _sync(runtime, tenant, conversation_key, job)

    return await guarded(ctx, SYNC_CRM, [tenant, conversation_key], tenant, work, conversation=conversation_key)


async def _sync(runtime: Runtime, tenant: str, conversation_key: str, job: JobFinish | None = None) -> str:
    crm = runtime.crm_context(tenant)
    async with hold_for_sync(runtime.redis, conversation_key, crm.scope, 120, 130) as read:  # one round trip
        try:
            link = await sync_conversation(crm, conversation_key, read)
        except (BitrixAuthError, BitrixRequestError) as exc:  # shown in /readyz until a sync succeeds
            await runtime.health.record(tenant, "bitrix", False, f"{exc.code}: {exc.description}"[:200])
            raise
        await read.release_and_end(job)  # the job ends with the lock's release
    await runtime.health.record(tenant, "bitrix", True, "synced")
    if link is not None and link.deal_id is not None and runtime.tenants[tenant].app is not None:
        handed_at = await handoff.take_waiting(runtime.redis, conversation_key)  # only app mode hands over
        if handed_at is not None:  # the bot handed the client over before this deal existed
            await queue_handoff(runtime.intake, tenant, conversation_key, handed_at, deal_made=True)
    return "done" if link else "no_conversation"


async def handle_bitrix_event(ctx: dict[str, Any], tenant: str, event: str, entity_id: int) -> str:
    runtime: Runtime = ctx["runtime"]

    async def work() -> str:
        if tenant not in runtime.tenants:
            raise SendRejected(f"tenant {tenant!r} is no longer configured")
        if event in ("ONCRMDEALUPDATE", "ONCRMDEALADD") and runtime.tenants[tenant].appointments is not None:
            return await _deal_changed(runtime, tenant, entity_id)
        if event.startswith("ONBOOKING") and runtime.tenants[tenant].appointments is not None:
            from gateway.usecases.crm.booking_changes import booking_changed

            return await booking_changed(runtime.portal_changes(tenant), event, entity_id, runtime.clock())
        if event == "ONCRMDEALDELETE":
            if await deal_exists(runtime.crm_context(tenant), entity_id):
                logger.warning("deal %s reported deleted but the portal still has it: ignored", entity_id)
                return "still_exists"
            conv = await forget_deal(runtime.crm_context(tenant), entity_id)
            logger.info("deal %s deleted in Bitrix24; %s", entity_id, f"unlinked from {conv}" if conv else "not ours")
            return "done" if conv else "not_ours"
        return "ignored"

    args = [tenant, event, entity_id]
    return await guarded(ctx, HANDLE_BITRIX_EVENT, args, tenant, work, event_id=f"{event}:{entity_id}")


def core_jobs() -> dict[str, Any]:
    """The handler of every job kind but the Bitrix24 app's (jobs/app_jobs.py): with those, one for each
    of store/job_format.py's JOBS (a test holds the two lists together)."""
    return {
        HANDLE_INBOUND: handle_inbound,
        SYNC_CRM: sync_crm,
        HANDLE_BITRIX_EVENT: handle_bitrix_event,
        REACH_LEAD: reach_lead,
        RATING_TODO: rating_todo,
        PAYMENT_EVENT: payment_event,
    }


async def _deal_changed(runtime: Runtime, tenant: str, deal_id: int) -> str:
    from gateway.usecases.crm.portal_changes import apply_deal, read_deal

    changes = runtime.portal_changes(tenant)
    row = await read_deal(changes, deal_id)
    if row is None:
        return "gone"
    return await apply_deal(changes, row, runtime.clock())


class IdleAwareWorker(OneTripClaim):
    """An arq worker that polls its queue less often while it has nothing to do.

    arq polls at a fixed interval (20 ms for replies, to answer within a second); idle, that alone is
    a few per cent of a core. After `IDLE_AFTER` empty polls it also waits up to `idle_wait` seconds,
    woken at once by a job this process queues (the webhook of `run`, which also hands the job over to
    be claimed at once): a message after a quiet spell costs at most `idle_wait` more when `serve` and
    `worker` are separate processes, nothing in `run`.
    """

    def __init__(self, *args: Any, idle_wait: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_wait = idle_wait
        self.wake = asyncio.Event()
        self._empty_polls = 0

    def woken(self, queue: str, job_id: str) -> None:
        if queue == self.queue_name:
            self.wake.set()
            self.hand_over(job_id)

    async def _poll_iteration(self) -> None:
        started = self._jobs_started()
        await super()._poll_iteration()
        if self._jobs_started() != started or self.tasks or self.burst:
            self._empty_polls = 0
            return
        self._empty_polls += 1
        if self._empty_polls < IDLE_AFTER or not self.idle_wait:
            return
        self.wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.idle_wait):
                await self.wake.wait()


IDLE_AFTER = 25  # empty polls in a row (half a second of the inbound queue's) before waiting longer
# The CRM worker, idle for five seconds, looks once a second: a deal is not on the path of a reply, and
# the Bitrix24 events this process takes in wake it at once.
IDLE_WAITS = {INBOUND_QUEUE: 0.25, CRM_QUEUE: 1.0}
# a client waits on the inbound queue, nobody on the CRM one: poll the first often, the second calmly
POLL_DELAYS = {INBOUND_QUEUE: 0.02, CRM_QUEUE: 0.2}
# In `run` the webhooks of the same process hand each message to the inbound worker the moment they queue
# it, so its poll finds only retries that come due and jobs queued elsewhere (a dead letter replayed from
# the command line): it can poll calmly, and wait longer while idle.
IDLE_WAITS_WITH_WEBHOOKS = {INBOUND_QUEUE: 2.0, CRM_QUEUE: 1.0}
POLL_DELAYS_WITH_WEBHOOKS = {INBOUND_QUEUE: 0.1, CRM_QUEUE: 0.2}


def build_workers(
    runtime: Runtime,
    *,
    handle_signals: bool = True,
    retry_base: float = 1.0,
    health: WorkerHealth | None = None,
    agenda_seconds: int = 5,
    reconcile_seconds: int = 120,
    with_webhooks: bool = False,
) -> list[Worker]:
    """One worker per queue, so a CRM backlog never delays a reply; run them side by side.
    `with_webhooks`: the process also takes the webhooks (`run`), which wake its inbound worker."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["runtime"] = runtime
        ctx["retry_base"] = retry_base
        if health is not None:  # arq calls this once Redis has answered: the worker runs again
            health.started()

    attempts = runtime.config.queue.max_attempts + 1  # our policy parks before arq gives up
    functions = core_jobs()
    if any(t.app is not None for t in runtime.tenants.values()):
        from gateway.jobs.app_jobs import APP_JOBS

        functions.update(APP_JOBS)
    jobs: dict[str, list[Any]] = {INBOUND_QUEUE: [], CRM_QUEUE: []}
    for name, coroutine in functions.items():
        jobs[QUEUE_OF[name]].append(func(coroutine, name=name, max_tries=attempts, timeout=JOB_DEADLINES[name] + 10))
    workers = [
        IdleAwareWorker(
            functions=queue_jobs,
            idle_wait=(IDLE_WAITS_WITH_WEBHOOKS if with_webhooks else IDLE_WAITS)[queue],
            poll_delay=(POLL_DELAYS_WITH_WEBHOOKS if with_webhooks else POLL_DELAYS)[queue],
            queue_name=queue,
            redis_pool=runtime.redis,
            on_startup=on_startup,
            handle_signals=handle_signals and queue == INBOUND_QUEUE,  # one set of signal handlers
            max_jobs=runtime.config.queue.max_jobs,
            job_serializer=runtime.redis.job_serializer,
            job_deserializer=runtime.redis.job_deserializer,
            keep_result=KEEP_RESULT_SECONDS,
            # The heartbeat /readyz reads: a key that expires unless a live worker renews it.
            health_check_interval=HEARTBEAT_SECONDS,
            health_check_key=keys.WORKER_HEARTBEAT,
            log_results=False,
            # the lifecycle's scheduled work rides the CRM worker: nobody waits on it by the second
            cron_jobs=_crons(runtime, agenda_seconds, reconcile_seconds) if queue == CRM_QUEUE else None,
        )
        for queue, queue_jobs in jobs.items()
    ]
    for worker in workers:
        runtime.intake.on_queued.append(worker.woken)
    return list(workers)


def _crons(runtime: Runtime, agenda_seconds: int, reconcile_seconds: int) -> list[Any] | None:
    """The lifecycle's scheduled work and the app's reconciliation ride the CRM worker: nobody waits on
    them by the second."""
    crons: list[Any] = list(lifecycle_crons(agenda_seconds)) if runtime.store is not None else []
    if any(t.app is not None for t in runtime.tenants.values()):
        from gateway.jobs.app_jobs import app_crons

        crons += app_crons(reconcile_seconds)
    return crons or None


@dataclass
class WorkerHealth:
    """Whether the workers of this process are running, for /healthz: a process whose workers have not
    reached Redis for `unhealthy_after` seconds reports itself unhealthy, so its container is restarted."""

    unhealthy_after: float = 60.0
    failing_since: float | None = None  # monotonic time of the first failure since the last good start
    last_error: str = ""
    stopping: bool = False  # set on shutdown: a worker that ends then is not started again

    def started(self) -> None:
        if self.failing_since is not None:
            logger.warning("workers running again after %.1f s", time.monotonic() - self.failing_since)
        self.failing_since, self.last_error = None, ""

    def failed(self, error: BaseException) -> None:
        self.last_error = f"{type(error).__name__}: {error}"[:200]
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    def healthy(self) -> bool:
        return self.failing_since is None or time.monotonic() - self.failing_since < self.unhealthy_after


RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0)  # then every 5 s for as long as Redis stays away
STOP_SECONDS = 15.0  # how long the workers may take to finish their jobs on shutdown


async def _supervise(worker: Worker, health: WorkerHealth) -> None:
    """Run one worker; when Redis drops it (a restart, a failover, a blip), log it and start it again.

    arq's poll loop ends on the first Redis error; left alone, the process would go on answering
    webhooks with nothing processing them. Jobs in flight keep running; the pool reconnects by itself.
    """
    failures = 0
    while not health.stopping:
        try:
            await worker.async_run()
            return  # stopped on purpose (a signal)
        except Exception as exc:
            if health.stopping:
                return
            health.failed(exc)
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            failures += 1
            logger.error(
                "worker %s stopped (%s: %s); starting it again in %.1f s",
                worker.queue_name,
                type(exc).__name__,
                exc,
                delay,
            )
            if not health.healthy():
                logger.error("workers have not reached Redis for %.0f s: reporting unhealthy", health.unhealthy_after)
        await asyncio.sleep(delay)


ROLES = {INBOUND_QUEUE: "inbound", CRM_QUEUE: "crm"}


def _as_role(queue: str) -> contextvars.Context:
    """A context whose Redis round trips count as this worker's (its job tasks inherit it)."""
    context = contextvars.copy_context()
    context.run(ROLE.set, ROLES.get(queue, queue))
    return context


async def run_workers(workers: list[Worker], health: WorkerHealth | None = None) -> None:
    """Run until one stops (a signal reaches the first): then stop the other too. Each worker that Redis
    drops is started again (see `_supervise`)."""
    health = health or WorkerHealth()
    tasks = [
        asyncio.create_task(_supervise(worker, health), name=worker.queue_name, context=_as_role(worker.queue_name))
        for worker in workers
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        health.stopping = True
        # arq's own way out of its loop: a burst with nothing more to start returns once its jobs end.
        # Cancelling arq's main task instead can leave it stuck mid-cancel (seen in tests).
        for worker in workers:
            worker.burst, worker.max_burst_jobs = True, 0
        _, stuck = await asyncio.wait(tasks, timeout=STOP_SECONDS)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
