"""The FastAPI app: routes, error envelope, sandboxes, and (for `run`) the in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from arq.worker import Worker
from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.bootstrap import Runtime
from gateway.http.errors import ApiError, api_error_handler, http_error_handler
from gateway.http.routes import bitrix as routes_bitrix
from gateway.http.routes import bitrix_app as routes_bitrix_app
from gateway.http.routes import forms as routes_forms
from gateway.http.routes import max as routes_max
from gateway.http.routes import media as routes_media
from gateway.http.routes import meta as routes_meta
from gateway.http.routes import ops as routes_ops
from gateway.http.routes import owner as routes_owner
from gateway.http.routes import payments as routes_payments
from gateway.http.routes import telegram as routes_telegram
from gateway.http.routes import vk as routes_vk
from gateway.jobs.polling import start_pollers
from gateway.jobs.worker import WorkerHealth, build_workers, run_workers

logger = logging.getLogger("gateway.http.app")


@dataclass(frozen=True)
class AppOptions:
    with_worker: bool = False  # `run`: the worker shares this process and event loop
    with_polling: bool = True  # tenants whose Telegram mode is polling (one process polls a bot at a time)
    poll_wait_seconds: float = 5.0  # how often a process that does not poll a bot asks to take over
    retry_base: float = 1.0
    shutdown_grace: float = 10.0
    # `run`: /healthz fails once the in-process workers have not reached Redis for this long
    unhealthy_after: float = 60.0
    agenda_seconds: int = 5  # how often due reminders are looked for (tests: every second)
    reconcile_seconds: int = 120  # how often the Open Line's chats are read back for lost events (app mode)


async def _finish_jobs(workers: list[Worker], grace: float) -> None:
    """Let jobs in flight finish; cancel what is still running after `grace` (it runs again from the
    queue) rather than leave it to the event loop's own teardown, which waits without a bound."""
    in_flight = [task for worker in workers for task in worker.tasks.values()]
    if not in_flight:
        return
    _, unfinished = await asyncio.wait(in_flight, timeout=grace)
    for task in unfinished:
        task.cancel()
    if unfinished:
        logger.warning("shutdown: %d job(s) cut off; they run again from the queue", len(unfinished))
        await asyncio.wait(unfinished, timeout=grace)


def create_app(runtime: Runtime, options: AppOptions | None = None) -> FastAPI:
    options = options or AppOptions()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        workers: list[Worker] = []
        if options.with_worker:
            health = WorkerHealth(unhealthy_after=options.unhealthy_after)
            workers = build_workers(
                runtime,
                handle_signals=False,
                retry_base=options.retry_base,
                health=health,
                agenda_seconds=options.agenda_seconds,
                reconcile_seconds=options.reconcile_seconds,
                with_webhooks=True,
            )
            app.state.worker_health = health
            app.state.worker_task = asyncio.create_task(run_workers(workers, health), name="arq-workers")
            tasks.append(app.state.worker_task)
        if options.with_polling:
            tasks.extend(start_pollers(runtime, options.poll_wait_seconds))
        try:
            yield
        finally:
            if options.with_worker:
                app.state.worker_health.stopping = True
            for task in tasks:
                task.cancel()
            await _finish_jobs(workers, options.shutdown_grace)
            if tasks:
                await asyncio.wait(tasks, timeout=options.shutdown_grace)
            # bounded: a connection stuck mid-command must not keep the process from exiting
            try:
                await asyncio.wait_for(runtime.close(), timeout=options.shutdown_grace)
            except TimeoutError:
                logger.warning("shutdown: clients did not close in %.0f s", options.shutdown_grace)

    app = FastAPI(
        title="lead-gateway",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # `/path/` is a 404, not a 307 whose Location is built from whatever Host the caller sent
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.include_router(routes_telegram.router)
    app.include_router(routes_meta.router)
    app.include_router(routes_bitrix.router)
    app.include_router(routes_bitrix_app.router)
    app.include_router(routes_ops.router)
    app.include_router(routes_owner.router)
    app.include_router(routes_forms.router)
    app.include_router(routes_vk.router)
    app.include_router(routes_max.router)
    app.include_router(routes_media.router)
    app.include_router(routes_payments.router)
    if runtime.bitrix_sandbox is not None:
        app.mount("/sandbox/bitrix", runtime.bitrix_sandbox.app)
    if runtime.telegram_sandbox is not None:
        app.mount("/sandbox/telegram", runtime.telegram_sandbox.app)
    for name, outbox in runtime.outboxes.items():
        app.mount(f"/sandbox/{name}", outbox.app)
    return app
