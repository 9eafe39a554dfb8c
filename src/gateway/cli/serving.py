"""`run`, `serve`, `worker` and `sandbox`: the service started, with the embedded Redis, the stand-ins
and the sandbox portal when the config asks for none of the real ones."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import socket
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from gateway.cli.loading import SANDBOX_URL_ENV, data_dir, load, migrate_store, store_url
from gateway.settings import AppConfig

if TYPE_CHECKING:
    from gateway.cli.embedded_redis import EmbeddedRedis

logger = logging.getLogger("gateway.cli.serving")


def redis_address(
    config: AppConfig, args: argparse.Namespace, *, supervise: bool = False
) -> tuple[str, EmbeddedRedis | None]:
    """The configured Redis, or an embedded one started now (returned so it can be stopped); a service
    role (`supervise`) also starts it again should it die."""
    if config.redis_url:
        return config.redis_url, None
    from gateway.cli.embedded_redis import EmbeddedRedis

    embedded = EmbeddedRedis(data_dir(args))
    url = embedded.start()
    if supervise:
        embedded.supervise()
    logger.info("no redis_url in the config: using the embedded redis (%s)", embedded.data_dir)
    return url, embedded


def _outboxes(config: AppConfig) -> dict[str, Any]:
    """The VK, MAX and SMS stand-ins some tenant points its `api_base` at (the example config does)."""
    from gateway.sandbox.outbox import max_outbox, sms_outbox, vk_outbox

    bases: dict[str, list[str]] = {"vk": [], "max": [], "sms": []}
    for tenant in config.tenants.values():
        if tenant.channels.vk is not None:
            bases["vk"].append(tenant.channels.vk.api_base)
        if tenant.channels.max is not None:
            bases["max"].append(tenant.channels.max.api_base)
        if tenant.sms is not None:
            bases["sms"].append(tenant.sms.base())
    makers = {"vk": vk_outbox, "max": max_outbox, "sms": sms_outbox}
    return {name: makers[name]() for name, found in bases.items() if any(f"/sandbox/{name}" in b for b in found)}


def _yookassa_sandbox(runtime: Any, local_base: str) -> Any:
    """YooKassa's stand-in: its pay page's answer is notified to the gateway as YooKassa would, to the
    tenant the payment's metadata names."""
    from gateway.sandbox.yookassa import YooKassaSandbox

    async def notify(notification: dict[str, Any]) -> None:
        tenant = str(notification["object"].get("metadata", {}).get("tenant", ""))
        url = f"{local_base}/payments/{tenant}/yookassa"
        response = await runtime.http.post(url, json=notification, timeout=10)
        response.raise_for_status()

    return YooKassaSandbox(public_base=f"{local_base}/sandbox/yookassa", notify=notify)


def _serve(args: argparse.Namespace, *, with_worker: bool) -> int:
    import uvicorn

    from bitrix.sandbox import Sandbox
    from gateway.bootstrap import build_runtime
    from gateway.cli.quiet_server import QuietServer
    from gateway.http.app import AppOptions, create_app
    from gateway.sandbox.telegram import TelegramSandbox

    config = load(args)
    try:  # bound before anything starts: a taken port fails here, not after the workers began
        listener = socket.create_server((args.host, args.port), reuse_port=False)
    except OSError as exc:
        print(f"lead-gateway: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)  # noqa: T201
        return 1
    migrate_store(args)
    redis_url, embedded = redis_address(config, args, supervise=True)
    local_base = f"http://127.0.0.1:{args.port}"
    uses_bitrix_sandbox = any(t.bitrix.webhook_url is None for t in config.tenants.values())
    uses_telegram_sandbox = any(
        t.channels.telegram is not None and "/sandbox/telegram" in t.channels.telegram.api_base
        for t in config.tenants.values()
    )
    runtime = build_runtime(
        config,
        redis_url,
        sandbox_base=local_base,
        bitrix_sandbox=Sandbox(code=secrets.token_hex(8)) if uses_bitrix_sandbox else None,
        telegram_sandbox=TelegramSandbox() if uses_telegram_sandbox else None,
        store_url=store_url(config, args),
    )
    runtime.outboxes.update(_outboxes(config))
    if any(t.payments is not None and "/sandbox/yookassa" in t.payments.api_base for t in config.tenants.values()):
        runtime.outboxes["yookassa"] = _yookassa_sandbox(runtime, local_base)
    if runtime.bitrix_sandbox is not None:
        logger.info("tenants without bitrix.webhook_url use the sandbox portal: %s/sandbox/bitrix/deals", local_base)
        # the sandbox sends its outbound events (a deal changed through its API) to those tenants
        for tenant_id, tenant in config.tenants.items():
            if tenant.bitrix.webhook_url is None and tenant.bitrix.application_token:
                handler = f"{local_base}/bitrix/{tenant_id}/events"
                runtime.bitrix_sandbox.event_handlers.append((handler, tenant.bitrix.application_token))
    if runtime.bitrix_sandbox is not None:
        _sandbox_app(runtime.bitrix_sandbox, config, local_base)
    app = create_app(runtime, AppOptions(with_worker=with_worker))
    # X-Forwarded-For is read by the gateway itself, and only from `trusted_proxies` (http/client_address.py)
    server = QuietServer(
        uvicorn.Config(app, host=args.host, port=args.port, log_config=None, proxy_headers=False, server_header=False)
    )
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        if embedded is not None:
            embedded.stop()
    return 0 if server.started else 1


def _sandbox_app(sandbox: Any, config: Any, local_base: str) -> None:
    """Tenants whose `bitrix.app` names the sandbox's token server install into the sandbox portal (its
    page /sandbox/bitrix/chats has the button, and is where a person plays the manager)."""
    from bitrix.sandbox_app import SandboxApp

    base = f"{local_base}/sandbox/bitrix"
    apps = {t: c.bitrix.app for t, c in config.tenants.items() if c.bitrix.app and c.bitrix.app.oauth_base == base}
    stand_in = None
    for tenant_id, app in apps.items():
        if stand_in is None:  # one app side a sandbox portal: the first tenant's credentials
            stand_in = SandboxApp(sandbox, client_id=app.client_id, client_secret=app.client_secret)
            stand_in.base = base
        stand_in.install_handlers[tenant_id] = f"{local_base}/bitrix/{tenant_id}/app/install"
        logger.info("tenant %s installs its Bitrix24 app into the sandbox portal: %s/chats", tenant_id, base)


def cmd_run(args: argparse.Namespace) -> int:
    return _serve(args, with_worker=True)


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(args, with_worker=False)


def cmd_worker(args: argparse.Namespace) -> int:
    from gateway.bootstrap import build_runtime
    from gateway.jobs.worker import build_workers, run_workers

    config = load(args)
    migrate_store(args)
    redis_url, embedded = redis_address(config, args, supervise=True)
    sandbox_base = os.environ.get(SANDBOX_URL_ENV, "http://127.0.0.1:8000")

    async def main() -> None:
        runtime = build_runtime(config, redis_url, sandbox_base=sandbox_base, store_url=store_url(config, args))
        workers = build_workers(runtime, handle_signals=True)
        try:
            await run_workers(workers)
        finally:
            for worker in workers:
                await worker.close()
            await runtime.close()

    try:
        _run_fast(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _run_fast(work: Coroutine[Any, Any, None]) -> None:
    """Run the worker on uvloop where it is installed (as uvicorn does for `run` and `serve`)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(work)
        return
    uvloop.run(work)


def cmd_sandbox(args: argparse.Namespace) -> int:
    import uvicorn

    from bitrix.sandbox import Faults, Sandbox

    sandbox = Sandbox(
        burst=args.burst,
        per_second=args.per_second,
        faults=Faults(error_rate=args.error_rate, latency_ms=args.latency_ms),
    )
    print(f"Bitrix24 sandbox: webhook_url http://{args.host}:{args.port}/rest/1/sandbox/", file=sys.stderr)  # noqa: T201
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_config=None)
    return 0
