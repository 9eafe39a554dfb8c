"""The job format written without arq is the one arq's worker reads."""

from __future__ import annotations

from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix
from arq.jobs import deserialize_job

from gateway.store import job_format
from gateway.store.job_format import JOB_KEY_PREFIX, RESULT_KEY_PREFIX, SYNC_CRM, job_bytes, job_deserializer


def test_key_names_are_arqs():
    assert (job_key_prefix, result_key_prefix) == (JOB_KEY_PREFIX, RESULT_KEY_PREFIX)
    ours = (job_format.IN_PROGRESS_KEY_PREFIX, job_format.RETRY_KEY_PREFIX, job_format.ABORTED_JOBS)
    assert ours == (in_progress_key_prefix, retry_key_prefix, abort_jobs_ss)


def test_arq_reads_the_job_back():
    raw = job_bytes(SYNC_CRM, ("salon", "salon:telegram:5"), 1_764_000_000_000)
    job = deserialize_job(raw, deserializer=job_deserializer)
    assert (job.function, list(job.args), job.kwargs) == (SYNC_CRM, ["salon", "salon:telegram:5"], {})
    assert job.job_try is None  # arq counts tries itself
    assert job.enqueue_time.timestamp() == 1_764_000_000


async def test_a_job_ended_by_its_handler_reads_in_arq_as_a_success(redis):
    from arq.jobs import Job

    job_id = "in:salon:telegram:tg:1"
    await redis.zadd(job_format.INBOUND_QUEUE, {job_id: 1})
    await redis.set(JOB_KEY_PREFIX + job_id, b"{}")
    await redis.set(job_format.IN_PROGRESS_KEY_PREFIX + job_id, b"1")
    finished: set[str] = set()
    end = job_format.JobFinish(
        queue=job_format.INBOUND_QUEUE,
        job_id=job_id,
        function=job_format.HANDLE_INBOUND,
        args=({"tenant": "salon"},),
        job_try=1,
        enqueue_ms=1_764_000_000_000,
        started_ms=1_764_000_000_100,
        keep_result_ms=60_000,
        finished=finished,
    )
    async with redis.pipeline(transaction=True) as pipe:
        end.writes(pipe)
        await pipe.execute()
    end.committed()
    info = await Job(job_id, redis, _deserializer=job_deserializer).result_info()
    assert info is not None and info.success and info.result == "done" and info.function == "handle_inbound"
    assert finished == {job_id} and await redis.zscore(job_format.INBOUND_QUEUE, job_id) is None
    assert not await redis.exists(JOB_KEY_PREFIX + job_id, job_format.IN_PROGRESS_KEY_PREFIX + job_id)
    assert 0 < await redis.pttl(RESULT_KEY_PREFIX + job_id) <= 60_000


def test_every_job_kind_has_one_handler_and_every_handler_a_kind():
    from gateway.jobs.app_jobs import APP_JOBS
    from gateway.jobs.guard import JOB_DEADLINES
    from gateway.jobs.worker import core_jobs
    from gateway.store.job_format import JOBS, QUEUE_OF

    handlers = {**core_jobs(), **APP_JOBS}
    assert set(handlers) == set(JOBS) and not set(core_jobs()) & set(APP_JOBS)
    assert set(QUEUE_OF) == set(JOB_DEADLINES) == set(JOBS)
