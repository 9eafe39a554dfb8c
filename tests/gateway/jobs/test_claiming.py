"""The one-round-trip claim keeps arq's guarantees: a job runs once at a time, its tries are counted, a
job deferred by `Retry` runs again later; and arq's read of a claimed job does not go to Redis again."""

from __future__ import annotations

import asyncio
from typing import Any

from arq import Retry
from arq.constants import job_key_prefix, retry_key_prefix
from arq.worker import func

from gateway.bootstrap import connect_redis
from gateway.jobs.claiming import ClaimedJobs, OneTripClaim
from gateway.store import redis_connection
from gateway.store.job_format import job_deserializer, job_serializer

QUEUE = "lg:test:claims"


def _worker(redis: Any, functions: list[Any], **options: Any) -> OneTripClaim:
    return OneTripClaim(
        functions=functions,
        queue_name=QUEUE,
        redis_pool=redis,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
        job_serializer=job_serializer,
        job_deserializer=job_deserializer,
        **options,
    )


async def test_two_workers_run_each_job_once_with_its_try_counted(redis_url):
    redis = connect_redis(redis_url)
    runs: list[tuple[str, int, str]] = []

    async def record(ctx: dict[str, Any], label: str) -> str:
        runs.append((ctx["job_id"], ctx["job_try"], label))
        await asyncio.sleep(0.05)  # long enough for the other worker's poll to list it meanwhile
        return label

    for n in range(20):
        await redis.enqueue_job("record", f"job {n}", _job_id=f"j{n}", _queue_name=QUEUE)
    pools = [connect_redis(redis_url) for _ in range(2)]
    workers = [_worker(pool, [func(record, name="record")], max_jobs=4) for pool in pools]
    await asyncio.gather(*(worker.async_run() for worker in workers))
    assert sorted(runs) == sorted((f"j{n}", 1, f"job {n}") for n in range(20))
    assert sum(worker.jobs_complete for worker in workers) == 20
    assert all(not worker.claims.claimed for worker in workers)  # every claimed read was used
    # arq sees j3's result where the claim and our finish left it: a finished job is not queued twice
    assert await redis.enqueue_job("record", "again", _job_id="j3", _queue_name=QUEUE) is None
    for pool in [*pools, redis]:
        await pool.aclose()


async def test_a_deferred_job_runs_again_with_its_second_try(redis_url):
    redis = connect_redis(redis_url)
    tries: list[int] = []

    async def flaky(ctx: dict[str, Any]) -> str:
        tries.append(ctx["job_try"])
        if ctx["job_try"] == 1:
            raise Retry(defer=0.05)
        return "done"

    job = await redis.enqueue_job("flaky", _job_id="flaky-1", _queue_name=QUEUE)
    assert job is not None
    worker = _worker(redis, [func(flaky, name="flaky")])
    await worker.async_run()
    assert tries == [1, 2]
    assert await job.result(timeout=1) == "done"
    await redis.aclose()


async def test_the_read_of_a_claimed_job_is_answered_without_redis(redis_url):
    shared = connect_redis(redis_url)
    claims = ClaimedJobs(shared)
    claims.claimed["j1"] = (b'{"f": "x"}', 3)
    await claims.ping()  # the connection's own handshake is not what is counted here
    before = sum(redis_connection.ROUND_TRIPS.values())
    async with claims.pipeline(transaction=True) as pipe:
        pipe.get(job_key_prefix + "j1")
        pipe.incr(retry_key_prefix + "j1")
        pipe.expire(retry_key_prefix + "j1", 88400)
        assert await pipe.execute() == [b'{"f": "x"}', 3, True]
    assert sum(redis_connection.ROUND_TRIPS.values()) == before and not claims.claimed
    # the same read of a job this worker did not claim, or any other pipeline, goes to Redis
    async with claims.pipeline(transaction=True) as pipe:
        pipe.get(job_key_prefix + "j2")
        pipe.incr(retry_key_prefix + "j2")
        pipe.expire(retry_key_prefix + "j2", 88400)
        assert await pipe.execute() == [None, 1, True]
    assert sum(redis_connection.ROUND_TRIPS.values()) == before + 1
    assert await shared.get(retry_key_prefix + "j1") is None and await shared.get(retry_key_prefix + "j2") == b"1"
    await shared.aclose()


async def test_a_message_queued_by_this_process_is_claimed_without_waiting_for_a_poll(make_config, portal, telegram):
    from datetime import UTC, datetime

    from adapters.telegram.inbound import parse_update
    from domain import InboundMessage
    from gateway.bootstrap import build_runtime
    from gateway.jobs.worker import IdleAwareWorker, build_workers
    from tests.conftest import REDIS_URL, wait_for
    from tests.e2e.test_telegram import CHAT, update

    runtime = build_runtime(make_config(portal.url, telegram.base), REDIS_URL, sandbox_base="http://127.0.0.1:1")
    inbound, _ = build_workers(runtime, handle_signals=False, with_webhooks=True)
    assert isinstance(inbound, IdleAwareWorker)
    inbound.poll_delay_s = 3600  # it polls once as it starts, and not again while this test runs
    polling = asyncio.create_task(inbound.main())
    try:
        await wait_for(lambda: inbound.polling)
        message = parse_update(update(1, "хочу маникюр"), "salon", datetime.now(UTC))
        assert isinstance(message, InboundMessage)
        await runtime.intake.accept(message)  # as a webhook of `run` does: it hands the job over
        await wait_for(lambda: inbound.jobs_complete == 1)
        assert [m["chat_id"] for m in telegram.sent if m["method"] == "sendMessage"] == [str(CHAT)]
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await runtime.close()
