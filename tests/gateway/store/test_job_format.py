"""The job format written without arq is the one arq's worker reads."""

from __future__ import annotations

from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import deserialize_job

from gateway.store.job_format import JOB_KEY_PREFIX, RESULT_KEY_PREFIX, SYNC_CRM, job_bytes, job_deserializer


def test_key_names_are_arqs():
    assert (job_key_prefix, result_key_prefix) == (JOB_KEY_PREFIX, RESULT_KEY_PREFIX)


def test_arq_reads_the_job_back():
    raw = job_bytes(SYNC_CRM, ("salon", "salon:telegram:5"), 1_764_000_000_000)
    job = deserialize_job(raw, deserializer=job_deserializer)
    assert (job.function, list(job.args), job.kwargs) == (SYNC_CRM, ["salon", "salon:telegram:5"], {})
    assert job.job_try is None  # arq counts tries itself
    assert job.enqueue_time.timestamp() == 1_764_000_000
