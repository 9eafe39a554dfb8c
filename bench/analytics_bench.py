"""What the owner's numbers cost: a busy year for 50 salons (1,000,000 facts) in the business store.

1. Fold throughput: facts a second from the Redis stream into the store (the real consumer).
2. `GET /api/{tenant}/analytics` through the app (HTTP Basic included): p50/p95 for a month and for a
   year, `by=channel` and `by=utm_source`, on SQLite and on PostgreSQL (if one answers).

    python bench/analytics_bench.py [--redis redis://127.0.0.1:6379/13] [--pg postgresql://...] [--facts 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import redis as sync_redis

from gateway.bootstrap import build_runtime
from gateway.http.app import AppOptions, create_app
from gateway.jobs.facts import fold_pending
from gateway.settings import parse_config
from gateway.store import facts as stream
from gateway.store.facts import Fact, Kind
from gateway.store.sql.analytics import SpendRow, fold, replace_spend
from gateway.store.sql.engine import make_engine
from gateway.store.sql.migrate import migrate
from gateway.store.sql.urls import async_url
from throwaway_pg import throwaway_database

TENANTS = 50
YEAR_START = datetime(2025, 12, 1, tzinfo=ZoneInfo("Europe/Moscow"))
CHANNELS = ("telegram", "whatsapp", "instagram", "vk")
SOURCES = (("vk", "spring"), ("ig", "reels"), ("yandex", "search"), (None, None))
SERVICES = ("manicure", "pedicure", "haircut", "coloring", "brows")
PASSWORD = "bench-password"  # noqa: S105 - the bench config's own


def year_of_facts(total: int, seed: int = 7) -> list[Fact]:
    """Leads with first replies, bookings for 45 %, visits for 80 % of those, no-shows and cancellations
    for the rest, managers for every lead: about 4.4 facts a lead, spread over a year and 50 tenants."""
    rng = random.Random(seed)
    found: list[Fact] = []
    lead_number = 0
    while len(found) < total:
        lead_number += 1
        tenant = f"salon{lead_number % TENANTS}"
        when = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
        channel = rng.choice(CHANNELS)
        source, campaign = rng.choice(SOURCES)
        lead = f"{tenant}:{channel}:{lead_number}"
        person = f"+7913{rng.randrange(10**7):07d}"
        tags: dict[str, Any] = {"channel": channel, "utm_source": source, "utm_campaign": campaign}
        service = rng.choice(SERVICES)
        found.append(Fact(f"lead:{lead}", Kind.LEAD, tenant, when, lead, **tags))
        found.append(
            Fact(f"first_reply:{lead}", Kind.FIRST_REPLY, tenant, when, lead, seconds=rng.uniform(0.2, 3), **tags)
        )
        found.append(Fact(f"assigned:{lead}", Kind.ASSIGNED, tenant, when, lead, manager=rng.randrange(1, 6)))
        if rng.random() < 0.45:
            booked = when + timedelta(minutes=rng.randrange(1, 60))
            common: dict[str, Any] = {**tags, "service": service, "person": person}
            found.append(Fact(f"booking:{lead}", Kind.BOOKING, tenant, booked, lead, **common))
            ended = booked + timedelta(days=rng.randrange(1, 14))
            outcome = rng.random()
            if outcome < 0.8:
                amount = float(rng.randrange(800, 4000, 100))
                found.append(Fact(f"visit:{lead}", Kind.VISIT, tenant, ended, lead, amount=amount, **common))
            elif outcome < 0.9:
                found.append(Fact(f"no_show:{lead}", Kind.NO_SHOW, tenant, ended, lead, **common))
            else:
                found.append(Fact(f"cancellation:{lead}", Kind.CANCELLATION, tenant, ended, lead, **common))
    return found[:total]


def config(redis_url: str) -> Any:
    tenants = {f"salon{i}": {"timezone": "Europe/Moscow", "dashboard": {"password": PASSWORD}} for i in range(TENANTS)}
    return parse_config({"redis_url": redis_url, "tenants": tenants}, {})


async def fill(url: str, everything: list[Fact], redis_url: str) -> None:
    engine = make_engine(url)
    await migrate(engine)
    started = time.perf_counter()
    for start in range(0, len(everything), 5000):
        await fold(engine, everything[start : start + 5000])
    took = time.perf_counter() - started
    print(f"    loaded {len(everything):,} facts in {took:.0f} s ({len(everything) / took:,.0f} a second, bulk)")
    for tenant in range(TENANTS):
        days = [YEAR_START.date() + timedelta(days=d) for d in range(365)]
        rows = [SpendRow(day, s, c, 500.0) for day in days for s, c in SOURCES if s]
        await replace_spend(engine, f"salon{tenant}", rows)
    await engine.dispose()


async def fold_throughput(url: str, redis_url: str, count: int = 50_000) -> None:
    """The real consumer: facts appended to the stream, then folded by `fold_pending` (2,000 a batch)."""
    redis_client = sync_redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    runtime = build_runtime(config(redis_url), redis_url, sandbox_base="", store_url=url)
    fresh = [
        Fact(f"lead:bench{i}", Kind.LEAD, "salon1", datetime.now(UTC), f"bench{i}", channel="telegram")
        for i in range(count)
    ]
    for start in range(0, count, 1000):
        await stream.emit(runtime.redis, fresh[start : start + 1000])
    started = time.perf_counter()
    folded = 0
    while folded < count:
        folded += await fold_pending(runtime)
    took = time.perf_counter() - started
    print(f"    fold: {count:,} facts from the stream in {took:.1f} s = {count / took:,.0f} facts a second")
    await runtime.close()


async def queries(url: str, redis_url: str, rounds: int = 40) -> None:
    runtime = build_runtime(config(redis_url), redis_url, sandbox_base="", store_url=url)
    app = create_app(runtime, AppOptions())
    auth = {"Authorization": ""}
    rng = random.Random(3)
    month = (date(2026, 6, 1), date(2026, 6, 30))
    year = (YEAR_START.date(), YEAR_START.date() + timedelta(days=364))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bench") as client:
        for label, (first, last) in (("month", month), ("year", year)):
            for by in ("channel", "utm_source"):
                times = []
                for _ in range(rounds):
                    tenant = f"salon{rng.randrange(TENANTS)}"
                    auth["Authorization"] = "Basic " + base64.b64encode(f"{tenant}:{PASSWORD}".encode()).decode()
                    params = {"from": first.isoformat(), "to": last.isoformat(), "by": by}
                    started = time.perf_counter()
                    response = await client.get(f"/api/{tenant}/analytics", params=params, headers=auth)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                leads = response.json()["total"]["leads"]
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                p50 = statistics.median(times)
                print(f"    {label:5} by={by:10}: p50 {p50:6.1f} ms, p95 {p95:6.1f} ms ({leads:,} leads)")
    await runtime.close()


async def one_store(url: str, label: str, everything: list[Fact], redis_url: str) -> None:
    print(f"  {label}:")
    await fill(url, everything, redis_url)
    await fold_throughput(url, redis_url)
    await queries(url, redis_url)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("LG_BENCH_REDIS", "redis://127.0.0.1:6379/13"))
    parser.add_argument(
        "--pg", default=os.environ.get("LG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--facts", type=int, default=1_000_000)
    args = parser.parse_args()
    everything = year_of_facts(args.facts)
    print(f"analytics over {len(everything):,} facts: {TENANTS} salons, a year")
    with tempfile.TemporaryDirectory() as tmp:
        await one_store(async_url(None, Path(tmp)), "SQLite", everything, args.redis)
    async with throwaway_database(args.pg) as url:
        if url is not None:
            await one_store(url, "PostgreSQL", everything, args.redis)
    sync_redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    asyncio.run(main())
