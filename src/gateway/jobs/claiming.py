"""Taking a job from the queue in one Redis round trip instead of arq's five, and none for a job this
worker is running already (arq's poll lists every due job until it ends, and arq tries each again); and
ending a job with its handler's last write when the handler offers to.

arq claims each job with WATCH, EXISTS, ZSCORE and a MULTI/EXEC that sets its in-progress key, then
reads the job and counts the try in one more transaction: five round trips before a reply is even
started. The same check-and-set as one Lua script is atomic on the server, so it gives the same
guarantee (a job runs in one worker at a time; a job re-queued for later, or already finished and
removed, is left alone), and it reads the job and counts the try as well: one round trip. arq's own
read that follows is then answered from what the claim returned (`ClaimedJobs`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

logger = logging.getLogger("gateway.jobs.claiming")

RETRY_COUNT_SECONDS = 88400  # how long arq keeps a job's try count
# KEYS: the job's in-progress key, the queue, the job, its try count. ARGV: job id, now (ms), lease (ms),
# try count's lifetime (s). Returns {score, job or false, try} when claimed; nothing when the job is
# running elsewhere, gone, or not due yet.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('PSETEX', KEYS[1], ARGV[3], '1')
local job = redis.call('GET', KEYS[3])
local try = redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[4])
return {score, job, try}
"""


FINISHED_JOBS = "finished_jobs"  # in each job's context: ids whose end the handler has written


class ClaimedJobs(ArqRedis):
    """The worker's client, on the same connections as the gateway's: a job's read that arq makes when it
    starts a job (GET the job, INCR and EXPIRE its try count, one transaction) is answered from what the
    claim read atomically with taking it. Any other pipeline goes to Redis unchanged."""

    def __init__(self, shared: ArqRedis) -> None:
        super().__init__(
            shared.connection_pool,
            job_serializer=shared.job_serializer,
            job_deserializer=shared.job_deserializer,
        )
        self.claimed: dict[str, tuple[bytes | None, int]] = {}  # job id: (job, try) read by its claim

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = _ClaimAwarePipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.claimed = self.claimed
        return pipe


class _ClaimAwarePipeline(Pipeline):
    claimed: dict[str, tuple[bytes | None, int]]

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        job_id = self._job_read() if self.claimed else None
        if job_id is None:
            return await super().execute(raise_on_error)
        job, tries = self.claimed.pop(job_id)
        self.command_stack = []  # no connection was taken: nothing else to reset
        return [job, tries, True]

    def _job_read(self) -> str | None:
        """The id of a claimed job when this pipeline is exactly its read: GET job, INCR and EXPIRE try."""
        stack: list[tuple[Any, ...]] = [args for args, _ in self.command_stack]
        if [args[0] for args in stack] != ["GET", "INCRBY", "EXPIRE"] or stack[1][2:] != (1,):  # redis-py's incr
            return None
        job_key, retry_key = str(stack[0][1]), str(stack[1][1])
        job_id = job_key.removeprefix(job_key_prefix)
        if job_key == job_id or retry_key != retry_key_prefix + job_id or stack[2][1] != retry_key:
            return None
        return job_id if job_id in self.claimed else None


class OneTripClaim(Worker):
    """arq's `start_jobs` with the claim as one script, and its `finish_job` skipped for a job whose
    handler wrote the job's end with its own last transaction (store/job_format.py, JobFinish)."""

    _claim: Any = None

    def __init__(self, *args: Any, redis_pool: ArqRedis, **kwargs: Any) -> None:
        self.claims = ClaimedJobs(redis_pool)
        super().__init__(*args, redis_pool=self.claims, **kwargs)
        self.finished_jobs: set[str] = set()
        self.ctx[FINISHED_JOBS] = self.finished_jobs  # each job's context is a shallow copy: the same set
        self._context: contextvars.Context | None = None  # the polling task's, once it polls
        self._handed: set[asyncio.Task[None]] = set()

    async def _poll_iteration(self) -> None:
        if self._context is None:  # started: jobs handed over may run now, in the worker's own context
            self._context = contextvars.copy_context()
        await super()._poll_iteration()

    @property
    def polling(self) -> bool:
        """Whether the worker has started taking jobs."""
        return self._context is not None

    def hand_over(self, job_id: str) -> None:
        """Claim a job this process has just queued without waiting for the next poll: the webhooks of
        `run` hand over each message, so a reply costs no poll and the poll can be calm. Ignored until
        the worker polls, and while it stops; the poll finds whatever this misses."""
        if self._context is None or self._stopping():
            return
        task = asyncio.get_running_loop().create_task(self._take_handed(job_id), context=self._context)
        self._handed.add(task)
        task.add_done_callback(self._handed.discard)

    def _stopping(self) -> bool:
        # how run_workers stops a worker: a burst that may start nothing more; a job handed over while
        # this waited for a free slot is left queued for whoever polls next
        return self.burst and self.max_burst_jobs == 0

    async def _take_handed(self, job_id: str) -> None:
        try:
            await self.start_jobs([job_id.encode()])
        except (RedisError, OSError) as exc:  # still queued: the next poll tries again
            logger.warning("job %s handed over, not claimed: %s", job_id, type(exc).__name__)

    async def finish_job(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> None:
        if job_id in self.finished_jobs:  # ended already, atomically with the handler's last write
            self.finished_jobs.discard(job_id)
            return
        await super().finish_job(
            job_id, finish, result_data, result_timeout_s, keep_result_forever, incr_score, keep_in_progress
        )

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        if self._claim is None:
            self._claim = self.claims.register_script(_CLAIM)
        lease_ms = int(self.in_progress_timeout_s * 1000)
        for raw in job_ids:
            job_id = raw.decode()
            running = self.tasks.get(job_id)
            if running is not None and not running.done():  # arq's poll lists a job until it ends
                continue
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs or self._stopping():
                self.sem.release()
                return
            self.job_counter += 1
            keys = [in_progress_key_prefix + job_id, self.queue_name]
            keys += [job_key_prefix + job_id, retry_key_prefix + job_id]
            claimed = await self._claim(keys=keys, args=[job_id, timestamp_ms(), lease_ms, RETRY_COUNT_SECONDS])
            if claimed is None:  # running elsewhere, finished, or re-queued for later
                self.job_counter -= 1
                self.sem.release()
                continue
            score, job, tries = claimed
            self.claims.claimed[job_id] = (job, int(tries))
            task = self.loop.create_task(self.run_job(job_id, int(float(score))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task
