"""The commands an operator or owner runs against a running deployment's Redis and business store:
qualify, migrate, check, dlq, healthcheck, consent, forget, report, experiments, spend."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.cli.loading import load, migrate_store_here, store_url
from gateway.cli.serving import redis_address
from gateway.settings import AppConfig


def cmd_qualify(args: argparse.Namespace) -> int:
    from gateway.cli.qualify import qualify_lines

    config = load(args)
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
    config = load(args)
    migrate_store_here(config, args)
    print("business store schema up to date", file=sys.stderr)  # noqa: T201
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gateway.cli.check import run_checks

    config = load(args)
    return asyncio.run(run_checks(config, store_url(config, args)))


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

    return _with_redis(args, load(args), work)


def _with_redis(args: argparse.Namespace, config: AppConfig, work: Any) -> int:
    """Run `work(redis)` against the configured Redis (or the embedded one, started for it and stopped)."""
    from gateway.bootstrap import connect_redis

    redis_url, embedded = redis_address(config, args)

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
    config = load(args)
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

    config = load(args)
    if args.tenant not in config.tenants:
        print(f"lead-gateway: no tenant {args.tenant!r} in the config", file=sys.stderr)  # noqa: T201
        return 2
    migrate_store_here(config, args)

    async def with_engine(redis: Any) -> int:
        engine = make_engine(store_url(config, args))
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

    config = load(args)

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


def cmd_experiments(args: argparse.Namespace) -> int:
    from gateway.settings.texts import Texts
    from gateway.usecases.experiments.results import report

    config = load(args)
    if args.tenant not in config.tenants:
        print(f"lead-gateway: no tenant {args.tenant!r} in the config", file=sys.stderr)  # noqa: T201
        return 2

    async def work(redis: Any, engine: Any) -> int:
        tenant = config.tenants[args.tenant]
        rows = await report(engine, args.tenant, tenant.experiments, Texts(**tenant.texts))
        if args.format == "json":
            print(json.dumps(rows, ensure_ascii=False, indent=2))  # noqa: T201
            return 0
        if not rows:
            print("Экспериментов нет: добавьте их в experiments: в конфиге арендатора.")  # noqa: T201
        for row in rows:
            print(f"{row['id']} ({row['metric']}, с {row['since'] or '—'}): {row['status']}")  # noqa: T201
            for v in row["variants"]:
                rate = "—" if v["rate"] is None else f"{v['rate']:.1%} [{v['rate_low']:.1%}–{v['rate_high']:.1%}]"
                flag = "  неявок больше!" if v["guardrail"] else ""
                print(f"  {v['name']}: {v['converted']}/{v['exposed']}  {rate}  P(лучший) {v['p_best']:.1%}{flag}")  # noqa: T201
                print(f"     {_shortened(v['setting'])}")  # noqa: T201
            print(f"  {row['conclusion']}")  # noqa: T201
        return 0

    return _with_store(args, work)


def _shortened(text: str, width: int = 70) -> str:
    """A variant's setting on one line (a text variant may run to paragraphs)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


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
