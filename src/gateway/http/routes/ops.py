"""Health, readiness and metrics for ops."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from gateway.bootstrap import Runtime
from gateway.http.deps import runtime_of
from gateway.jobs.worker import WorkerHealth
from gateway.store import dlq, health, keys
from gateway.store.queue import CRM_QUEUE, INBOUND_QUEUE

router = APIRouter()


@router.get("/healthz", summary="The process is up (and, for `run`, its workers are running)")
async def healthz(request: Request) -> JSONResponse:
    worker_task: asyncio.Task[None] | None = getattr(request.app.state, "worker_task", None)
    health: WorkerHealth | None = getattr(request.app.state, "worker_health", None)
    if worker_task is not None and worker_task.done():
        return JSONResponse({"status": "unhealthy", "reason": "the in-process workers stopped"}, status_code=503)
    if health is not None and not health.healthy():
        reason = f"the in-process workers cannot reach Redis: {health.last_error}"
        return JSONResponse({"status": "unhealthy", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="Redis reachable, and the in-process worker alive")
async def readyz(request: Request) -> JSONResponse:
    runtime = runtime_of(request)
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(runtime.redis.ping(), timeout=2)
        checks["redis"] = "ok"
    except (RedisError, OSError, TimeoutError) as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    worker_task: asyncio.Task[None] | None = getattr(request.app.state, "worker_task", None)
    beating = checks["redis"] == "ok" and await _heartbeat(runtime)
    if worker_task is not None:  # `run`: this process's own worker must be alive and renewing its heartbeat
        checks["worker"] = "stopped" if worker_task.done() else "ok" if beating else "no heartbeat"
    ready = all(v == "ok" for v in checks.values())
    if checks["redis"] == "ok":  # work that failed for good is reported, not gated on: `dlq list` says what
        with contextlib.suppress(RedisError, OSError):
            checks["dead_letters"] = str(await dlq.size(runtime.redis))
    if worker_task is None:  # `serve`: workers are separate processes; reported, not gated on
        checks["workers_heartbeat"] = "fresh" if beating else "none seen"
    # Credentials are reported, not gated on: a restart does not fix an expired token.
    tenants: dict[str, dict[str, object]] = {t: {} for t in runtime.tenants}
    if checks["redis"] == "ok":
        with contextlib.suppress(RedisError, OSError):
            for tenant, components in (await health.read(runtime.redis)).items():
                if tenant in tenants:
                    tenants[tenant] = components
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks, "tenants": tenants},
        status_code=200 if ready else 503,
    )


async def _heartbeat(runtime: Runtime) -> bool:
    try:
        return bool(await runtime.redis.exists(keys.WORKER_HEARTBEAT))
    except (RedisError, OSError):
        return False


@router.get("/metrics", summary="Prometheus text exposition")
async def metrics(request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        runtime.metrics.dead_letters.set(await dlq.size(runtime.redis))
        for queue in (INBOUND_QUEUE, CRM_QUEUE):
            runtime.metrics.queue_depth.labels(queue).set(await runtime.redis.zcard(queue))
    except (RedisError, OSError):
        pass  # the gauges keep their last value; /readyz reports the outage
    for tenant_id, services in runtime.tenants.items():
        runtime.metrics.limiter_wait_seconds.labels(tenant_id).set(services.bucket.waited_seconds)
    with contextlib.suppress(RedisError, OSError):
        for tenant, components in (await health.read(runtime.redis)).items():
            for component, state in components.items():
                runtime.metrics.credentials_ok.labels(tenant, component).set(1 if state.get("ok") else 0)
    return PlainTextResponse(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
