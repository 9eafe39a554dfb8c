"""`lead-gateway`: run, serve, worker, check, qualify, sandbox, dlq, migrate, consent, forget, report, spend."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.logs import configure_logging
from gateway.settings import AppConfig, ConfigError, load_config, resolve_config_path

if TYPE_CHECKING:
    from gateway.cli.embedded_redis import EmbeddedRedis

logger = logging.getLogger("gateway.cli.main")

DATA_DIR_ENV = "LEAD_GATEWAY_DATA_DIR"
SANDBOX_URL_ENV = "LEAD_GATEWAY_SANDBOX_URL"


def _load(args: argparse.Namespace) -> AppConfig:
    path = resolve_config_path(args.config)
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"lead-gateway: invalid config {path}:", file=sys.stderr)  # noqa: T201
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None


def data_dir(args: argparse.Namespace) -> Path:
    """Where the embedded Redis keeps its data: `$LEAD_GATEWAY_DATA_DIR`, else `.lead-gateway/` beside the
    config file, so every command run with that config finds the same data wherever it is run from."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit)
    return resolve_config_path(args.config).resolve().parent / ".lead-gateway"


def _store_url(config: AppConfig, args: argparse.Namespace) -> str:
    """The business store's URL with its async driver (no SQLAlchemy needed to build it)."""
    from gateway.store.sql.urls import async_url

    return async_url(config.database_url, data_dir(args))


def _migrate_store_here(config: AppConfig, args: argparse.Namespace) -> None:
    """Bring the business store's schema up to date; safe when several processes start at once."""
    from gateway.store.sql.migrate import migrate_url

    url = _store_url(config, args)
    if url.startswith("sqlite"):
        data_dir(args).mkdir(parents=True, exist_ok=True)
    asyncio.run(migrate_url(url))
    logger.info(
        "business store ready (%s)", "PostgreSQL" if "postgresql" in url else "SQLite " + url.rsplit("/", 1)[-1]
    )


def _migrate_store(args: argparse.Namespace) -> None:
    """`migrate` in a child process before serving: Alembic and the drivers (~45 MB) are not kept
    resident in a process that does not use them yet. Exits like the child when it fails."""
    import subprocess

    command = [sys.executable, "-m", "gateway.cli.main", "--log-level", args.log_level, "migrate"]
    command += ["--config", str(resolve_config_path(args.config))]
    done = subprocess.run(command, check=False)  # noqa: S603 - our own interpreter and module
    if done.returncode != 0:
        print("lead-gateway: the business store could not be migrated", file=sys.stderr)  # noqa: T201
        raise SystemExit(done.returncode)


def _redis_url(
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


def _serve(args: argparse.Namespace, *, with_worker: bool) -> int:
    import uvicorn

    from bitrix.sandbox import Sandbox
    from gateway.bootstrap import build_runtime
    from gateway.cli.quiet_server import QuietServer
    from gateway.http.app import AppOptions, create_app
    from gateway.sandbox.telegram import TelegramSandbox

    config = _load(args)
    try:  # bound before anything starts: a taken port fails here, not after the workers began
        listener = socket.create_server((args.host, args.port), reuse_port=False)
    except OSError as exc:
        print(f"lead-gateway: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)  # noqa: T201
        return 1
    _migrate_store(args)
    redis_url, embedded = _redis_url(config, args, supervise=True)
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
        store_url=_store_url(config, args),
    )
    runtime.outboxes.update(_outboxes(config))
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

    config = _load(args)
    _migrate_store(args)
    redis_url, embedded = _redis_url(config, args, supervise=True)
    sandbox_base = os.environ.get(SANDBOX_URL_ENV, "http://127.0.0.1:8000")

    async def main() -> None:
        runtime = build_runtime(config, redis_url, sandbox_base=sandbox_base, store_url=_store_url(config, args))
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


def cmd_qualify(args: argparse.Namespace) -> int:
    from gateway.cli.qualify import qualify_lines

    config = _load(args)
    if args.tenant not in config.tenants:
        print(f"lead-gateway: no tenant {args.tenant!r} in the config", file=sys.stderr)  # noqa: T201
        return 2
    tenant = config.tenants[args.tenant]
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        print(f"lead-gateway: --now {args.now!r}: expected an ISO time such as 2026-12-01T15:00", file=sys.stderr)  # noqa: T201
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=tenant.tz)

    async def run() -> None:
        async for fields in qualify_lines(tenant, sys.stdin, now, config.llm):
            sys.stdout.write(json.dumps(fields, ensure_ascii=False) + "\n")
            sys.stdout.flush()

    asyncio.run(run())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    config = _load(args)
    _migrate_store_here(config, args)
    print("business store schema up to date", file=sys.stderr)  # noqa: T201
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gateway.cli.check import run_checks

    config = _load(args)
    return asyncio.run(run_checks(config, _store_url(config, args)))


def cmd_dlq(args: argparse.Namespace) -> int:
    from gateway.store import dlq

    async def work(redis: Any) -> int:
        if args.action == "list":
            entries = await dlq.entries(redis, args.tenant)
            for entry in entries:
                print(json.dumps(entry, ensure_ascii=False))  # noqa: T201
            where = f" for tenant {args.tenant}" if args.tenant else ""
            print(f"{len(entries)} parked job(s){where}", file=sys.stderr)  # noqa: T201
            return 0
        count = await dlq.replay(redis, args.tenant)
        print(f"replayed {count} job(s)", file=sys.stderr)  # noqa: T201
        return 0

    return _with_redis(args, _load(args), work)


def _with_redis(args: argparse.Namespace, config: AppConfig, work: Any) -> int:
    """Run `work(redis)` against the configured Redis (or the embedded one, started for it and stopped)."""
    from gateway.bootstrap import connect_redis

    redis_url, embedded = _redis_url(config, args)

    async def main() -> int:
        redis = connect_redis(redis_url)
        try:
            return int(await work(redis))
        finally:
            await redis.aclose()

    try:
        return asyncio.run(main())
    finally:
        if embedded is not None:
            embedded.stop()


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """For a container's HEALTHCHECK: the HTTP roles answer /healthz; a worker renews its heartbeat."""
    import urllib.error
    import urllib.request

    from gateway.bootstrap import connect_redis
    from gateway.store import keys

    url = f"http://127.0.0.1:{args.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            print(f"healthy: {url} answered {response.status}")  # noqa: T201
            return 0
    except urllib.error.HTTPError as exc:  # it answers, and says it is not well
        print(f"unhealthy: {url} answered {exc.code}: {exc.read()[:300].decode(errors='replace')}")  # noqa: T201
        return 1
    except urllib.error.URLError:
        pass  # nothing listens: a worker container
    config = _load(args)
    if not config.redis_url:
        return 1

    async def beating() -> bool:
        redis = connect_redis(config.redis_url or "")
        try:
            return bool(await redis.exists(keys.WORKER_HEARTBEAT))
        finally:
            await redis.aclose()

    try:
        alive = asyncio.run(beating())
    except OSError as exc:
        print(f"unhealthy: Redis unreachable ({exc})")  # noqa: T201
        return 1
    print("healthy: a worker heartbeat is fresh" if alive else "unhealthy: no worker heartbeat in Redis")  # noqa: T201
    return 0 if alive else 1


def _with_store(args: argparse.Namespace, work: Any) -> int:
    """Run `work(redis, engine)` against the configured Redis and business store (migrated first)."""
    from gateway.store.sql.engine import make_engine

    config = _load(args)
    if args.tenant not in config.tenants:
        print(f"lead-gateway: no tenant {args.tenant!r} in the config", file=sys.stderr)  # noqa: T201
        return 2
    _migrate_store_here(config, args)

    async def with_engine(redis: Any) -> int:
        engine = make_engine(_store_url(config, args))
        try:
            return int(await work(redis, engine))
        finally:
            await engine.dispose()

    return _with_redis(args, config, with_engine)


def cmd_consent(args: argparse.Namespace) -> int:
    from gateway.cli.people import export_consents

    async def work(redis: Any, engine: Any) -> int:
        rows = await export_consents(engine, args.tenant, sys.stdout)
        print(f"{rows} consent record(s) for tenant {args.tenant}", file=sys.stderr)  # noqa: T201
        return 0

    return _with_store(args, work)


def cmd_forget(args: argparse.Namespace) -> int:
    from gateway.cli.people import forget

    async def work(redis: Any, engine: Any) -> int:
        await forget(redis, engine, args.tenant, args.phone)
        return 0

    return _with_store(args, work)


def cmd_report(args: argparse.Namespace) -> int:
    from gateway.cli.report import report
    from gateway.usecases.analytics.reports import BadPeriod, Period

    config = _load(args)

    async def work(redis: Any, engine: Any) -> int:
        tenant = config.tenants[args.tenant]
        today = datetime.now(UTC).astimezone(tenant.tz).date()
        try:
            period = Period.parse(args.date_from, args.date_to, today)
            await report(engine, args.tenant, tenant, period, args.by, args.format, sys.stdout)
        except BadPeriod as exc:
            print(f"lead-gateway: {exc}", file=sys.stderr)  # noqa: T201
            return 2
        return 0

    return _with_store(args, work)


def cmd_spend(args: argparse.Namespace) -> int:
    from gateway.cli.report import import_spend
    from gateway.usecases.analytics.spend import BadSpend

    async def work(redis: Any, engine: Any) -> int:
        try:
            days, rows = await import_spend(engine, args.tenant, Path(args.file))
        except (OSError, BadSpend) as exc:
            print(f"lead-gateway: {args.file}: {exc}", file=sys.stderr)  # noqa: T201
            return 2
        print(f"{rows} spend row(s) stored; {days} day(s) replaced for tenant {args.tenant}", file=sys.stderr)  # noqa: T201
        return 0

    return _with_store(args, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lead-gateway", description=__doc__)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="config file (default $LEAD_GATEWAY_CONFIG, then ./lead-gateway.yaml)")
        return p

    for name, func, help_text in (
        ("run", cmd_run, "HTTP API and worker in one process"),
        ("serve", cmd_serve, "HTTP API only"),
    ):
        p = with_config(sub.add_parser(name, help=help_text))
        p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        p.set_defaults(func=func)
    with_config(sub.add_parser("worker", help="queue worker only")).set_defaults(func=cmd_worker)
    with_config(sub.add_parser("check", help="validate config, reach Redis, Bitrix24, channels")).set_defaults(
        func=cmd_check
    )
    q = with_config(sub.add_parser("qualify", help="extract fields from messages on stdin"))
    q.add_argument("--tenant", required=True)
    q.add_argument("--now", help="ISO time to resolve 'завтра' etc. against (default: now)")
    q.set_defaults(func=cmd_qualify)
    s = sub.add_parser("sandbox", help="a local Bitrix24 portal emulator")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8081)
    s.add_argument("--burst", type=int, default=50)
    s.add_argument("--per-second", type=float, default=2.0)
    s.add_argument("--error-rate", type=float, default=0.0)
    s.add_argument("--latency-ms", type=float, default=0.0)
    s.set_defaults(func=cmd_sandbox)
    h = with_config(sub.add_parser("healthcheck", help="exit 0 if this container's role is healthy"))
    h.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    h.set_defaults(func=cmd_healthcheck)
    with_config(sub.add_parser("migrate", help="create or upgrade the business store's schema")).set_defaults(
        func=cmd_migrate
    )
    d = with_config(sub.add_parser("dlq", help="list or replay work that failed for good"))
    d.add_argument("action", choices=["list", "replay"])
    d.add_argument("--tenant")
    d.set_defaults(func=cmd_dlq)
    c = sub.add_parser("consent", help="the consent evidence (152-FZ, 38-FZ)")
    c_sub = c.add_subparsers(dest="action", required=True)
    e = with_config(c_sub.add_parser("export", help="every consent given and withdrawn, as CSV on stdout"))
    e.add_argument("--tenant", required=True)
    e.set_defaults(func=cmd_consent)
    f = with_config(sub.add_parser("forget", help="erase what the gateway holds on a person (152-FZ)"))
    f.add_argument("--tenant", required=True)
    f.add_argument("--phone", required=True)
    f.set_defaults(func=cmd_forget)
    r = with_config(sub.add_parser("report", help="the owner's numbers in the terminal"))
    r.add_argument("--tenant", required=True)
    r.add_argument("--from", dest="date_from", help="YYYY-MM-DD, tenant-local (default: 29 days before --to)")
    r.add_argument("--to", dest="date_to", help="YYYY-MM-DD, included (default: today)")
    r.add_argument("--by", default="channel", choices=["channel", "utm_source", "utm_campaign", "service", "manager"])
    r.add_argument("--format", default="table", choices=["table", "csv", "json"])
    r.set_defaults(func=cmd_report)
    sp = sub.add_parser("spend", help="ad spend")
    sp_sub = sp.add_subparsers(dest="action", required=True)
    si = with_config(
        sp_sub.add_parser("import", help="load date,utm_source,utm_campaign,amount rows; a day re-imported is replaced")
    )
    si.add_argument("--tenant", required=True)
    si.add_argument("file")
    si.set_defaults(func=cmd_spend)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
