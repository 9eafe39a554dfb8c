"""Taking a job from the queue in one Redis round trip instead of arq's four, and none for a job this
worker is running already (arq's poll lists every due job until it ends, and arq tries each again); and
ending a job with its handler's last write when the handler offers to.

arq claims each job with WATCH, EXISTS, ZSCORE and a MULTI/EXEC that sets its in-progress key: four
round trips per job on the path of every reply. The same check-and-set as one Lua script is atomic on
the server, so it gives the same guarantee (a job runs in one worker at a time; a job re-queued for
later, or already finished and removed, is left alone) in one round trip.
"""

from __future__ import annotations

from typing import Any

from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import Worker

# KEYS: the job's in-progress key, the queue. ARGV: job id, now (ms), in-progress lease (ms).
# Returns the job's score, or nothing when it is running elsewhere, gone, or not due yet.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('PSETEX', KEYS[1], ARGV[3], '1')
return score
"""


FINISHED_JOBS = "finished_jobs"  # in each job's context: ids whose end the handler has written


class OneTripClaim(Worker):
    """arq's `start_jobs` with the claim as one script, and its `finish_job` skipped for a job whose
    handler wrote the job's end with its own last transaction (store/job_format.py, JobFinish)."""

    _claim: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.finished_jobs: set[str] = set()
        self.ctx[FINISHED_JOBS] = self.finished_jobs  # each job's context is a shallow copy: the same set

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
            self._claim = self.pool.register_script(_CLAIM)
        lease_ms = int(self.in_progress_timeout_s * 1000)
        for raw in job_ids:
            if raw.decode() in self.tasks:  # running here already: arq's poll lists a job until it ends
                continue
            await self.sem.acquire()
            if self.job_counter >= self.max_jobs:
                self.sem.release()
                return
            self.job_counter += 1
            job_id = raw.decode()
            keys = [in_progress_key_prefix + job_id, self.queue_name]
            score = await self._claim(keys=keys, args=[job_id, timestamp_ms(), lease_ms])
            if score is None:  # another worker has it, or it is finished, or re-queued for later
                self.job_counter -= 1
                self.sem.release()
                continue
            task = self.loop.create_task(self.run_job(job_id, int(float(score))))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task
