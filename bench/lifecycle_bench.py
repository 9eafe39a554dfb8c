"""What the appointment lifecycle costs: the reminder agenda, the lateness of a busy minute, the portal poll.

1. Scheduling: plan, re-plan and fire 100,000 reminders for 10,000 visits in the business store (SQLite,
   and PostgreSQL if one answers); time per operation, bytes of store per planned reminder, and what
   Redis and the process hold for them.
2. Lateness: 1,000 reminders due in the same minute, sent by the real drain to a Bot API stand-in that
   answers 429 past 30 messages a second per bot, as Telegram does; lateness (due -> arrival) p50/p99
   and the 429s met.
3. Portal cost: Bitrix24 requests per hour the poll of changed deals makes for a portal with 1,000
   open deals (the sandbox portal), quiet and with 10 deals changed a minute.

    python bench/lifecycle_bench.py [--redis redis://127.0.0.1:6379/13] [--pg postgresql://postgres@127.0.0.1/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import tempfile
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis as sync_redis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bitrix.sandbox import Sandbox
from domain import Address
from gateway.bootstrap import build_runtime
from gateway.jobs.lifecycle import drain_agenda
from gateway.settings import parse_config
from gateway.store.conversations import CrmLink, save_link
from gateway.store.sql.agenda import claim_reminder, due_reminders, plan_reminders, record_reminder
from gateway.store.sql.engine import make_engine
from gateway.store.sql.migrate import migrate
from gateway.store.sql.urls import async_url
from gateway.store.sql.visits import save_visit
from gateway.usecases.crm.portal_changes import poll
from throwaway_pg import throwaway_database

VISITS, PER_VISIT = 10_000, 10
BURST = 1_000
TELEGRAM_PER_SECOND = 30
CRON_SECONDS = 5  # the drain's cron in production (`agenda_seconds`)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: Any) -> tuple[uvicorn.Server, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, f"http://127.0.0.1:{port}"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---- 1. scheduling -------------------------------------------------------------------------------


async def scheduling(url: str, label: str) -> dict[str, float]:
    engine = make_engine(url)
    await migrate(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    ids = []
    for n in range(VISITS):
        start = now + timedelta(days=1 + n % 60, hours=n % 9)
        visit = await save_visit(
            engine,
            tenant="bench",
            portal="p",
            deal_id=n + 1,
            conversation=f"bench:telegram:{n}",
            start_at=start,
            end_at=start + timedelta(hours=1),
            services=("manicure",),
            status="booked",
            now=now,
            to=Address("telegram", str(n)),
        )
        ids.append((visit.id, start))
    made = time.perf_counter() - started
    rss_before = rss_mb()

    def moments(start: datetime, shift: timedelta) -> list[tuple[str, datetime]]:
        return [(f"{k}h", start - timedelta(hours=k) + shift) for k in range(1, PER_VISIT + 1)]

    started = time.perf_counter()
    for visit_id, start in ids:
        await plan_reminders(engine, visit_id, moments(start, timedelta()))
    planned = time.perf_counter() - started
    size = await store_bytes(engine, url)
    started = time.perf_counter()
    for visit_id, start in ids:  # every visit moved by 30 minutes: its unclaimed reminders planned anew
        await plan_reminders(engine, visit_id, moments(start, timedelta(minutes=30)))
    replanned = time.perf_counter() - started
    started, fired = time.perf_counter(), 0
    horizon = now + timedelta(days=120)
    while batch := await due_reminders(engine, horizon, [("bench", "p")], limit=1000):
        for due in batch:
            if await claim_reminder(engine, due.id, now):
                await record_reminder(engine, due.id, "sent", "", now)
                fired += 1
    fire = time.perf_counter() - started
    await engine.dispose()
    total = VISITS * PER_VISIT
    print(
        f"  {label}: {VISITS:,} visits in {made:.1f} s; {total:,} reminders planned in {planned:.1f} s "
        f"({planned / total * 1e6:.0f} µs each), re-planned in {replanned:.1f} s ({replanned / total * 1e6:.0f} µs), "
        f"fired {fired:,} (due -> claim -> record) in {fire:.1f} s ({fire / max(fired, 1) * 1e6:.0f} µs each); "
        f"store {size / total:.0f} bytes a planned reminder (visits and indexes included); "
        f"bench process RSS {rss_before:.0f} -> {rss_mb():.0f} MB (the agenda lives in the store, not in memory)"
    )
    return {"plan_us": planned / total * 1e6, "fire_us": fire / max(fired, 1) * 1e6, "bytes": size / total}


async def store_bytes(engine: Any, url: str) -> int:
    from sqlalchemy import text

    async with engine.connect() as connection:
        if "sqlite" in url:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            pages = (await connection.execute(text("PRAGMA page_count"))).scalar_one()
            page = (await connection.execute(text("PRAGMA page_size"))).scalar_one()
            return int(pages * page)
        query = "SELECT pg_total_relation_size('reminders') + pg_total_relation_size('visits')"
        return int((await connection.execute(text(query))).scalar_one())


# ---- 2. lateness of a busy minute ----------------------------------------------------------------


class LimitedBotApi:
    """A Bot API stand-in with Telegram's bulk limit: past 30 sendMessage a second per bot, 429."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.refused = 0
        self.window: deque[float] = deque()
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._method, methods=["POST", "GET"])])

    async def _method(self, request: Request) -> JSONResponse:
        now = time.time()
        form = await request.form()
        if request.path_params["method"] != "sendMessage":
            return JSONResponse({"ok": True, "result": True})
        while self.window and now - self.window[0] > 1.0:
            self.window.popleft()
        if len(self.window) >= TELEGRAM_PER_SECOND:
            self.refused += 1
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1"}
            return JSONResponse({**body, "parameters": {"retry_after": 1}}, status_code=429)
        self.window.append(now)
        chat = int(str(form.get("chat_id", "0")))
        self.arrivals.setdefault(chat, now)
        result = {"message_id": 1, "date": int(now), "chat": {"id": chat, "type": "private"}, "text": ""}
        return JSONResponse({"ok": True, "result": result})


def lifecycle_config(redis_url: str, portal_url: str, telegram: str) -> Any:
    tenant = {
        "timezone": "Europe/Moscow",
        "bitrix": {"webhook_url": portal_url, "visit_field": "UF_CRM_VISIT_AT"},
        "channels": {"telegram": {"bot_token": "1:bench", "secret_token": "bench-secret", "api_base": telegram}},
        "catalog": [{"id": "manicure", "name": "Маникюр", "duration_min": 60}],
        "hours": {"mon": "00:00-24:00"},
        "lifecycle": {"reminders": ["24h"], "quiet_hours": None},
    }
    return parse_config({"redis_url": redis_url, "tenants": {"salon": tenant}}, {})


async def lateness(redis_url: str, data_dir: Path) -> dict[str, float]:
    bot = LimitedBotApi()
    bot_server, bot_base = serve(bot.app)
    sandbox = Sandbox(enforce_rate=False)
    portal_server, portal_base = serve(sandbox.app)
    url = async_url(None, data_dir)
    engine = make_engine(url)
    await migrate(engine)
    config = lifecycle_config(redis_url, f"{portal_base}/rest/1/sandbox/", bot_base)
    runtime = build_runtime(config, redis_url, sandbox_base="http://127.0.0.1:1", store_url=url)
    assert runtime.store is not None
    due = datetime.now(UTC) + timedelta(seconds=100)  # after the setup below, whatever it takes
    for n in range(BURST):
        visit = await save_visit(
            runtime.store,
            tenant="salon",
            portal=runtime.tenants["salon"].portal,
            deal_id=n + 1,
            conversation=f"salon:telegram:{n + 1}",
            start_at=due + timedelta(hours=24),
            end_at=due + timedelta(hours=25),
            services=("manicure",),
            status="booked",
            now=datetime.now(UTC),
            to=Address("telegram", str(n + 1)),
        )
        await plan_reminders(runtime.store, visit.id, [("24h", due)])
    ctx: dict[str, Any] = {"runtime": runtime}
    # the cron's calls, every CRON_SECONDS from well before the moment, as the worker makes them
    assert datetime.now(UTC) < due - timedelta(seconds=65), "setup took longer than the margin"
    await asyncio.sleep((due - timedelta(seconds=65) - datetime.now(UTC)).total_seconds())
    started = time.perf_counter()
    while len(bot.arrivals) < BURST and time.perf_counter() - started < 300:
        await drain_agenda(ctx)  # one run sends for up to 50 s
        await asyncio.sleep(CRON_SECONDS - time.time() % CRON_SECONDS)
    late = sorted(t - due.timestamp() for t in bot.arrivals.values())
    await runtime.close()
    await engine.dispose()
    bot_server.should_exit = portal_server.should_exit = True
    p50, p99 = statistics.median(late), late[int(len(late) * 0.99) - 1]
    print(
        f"  {len(late):,} of {BURST:,} reminders due in the same second sent; arrival minus moment: first "
        f"{late[0]:+.1f} s, p50 {p50:+.1f} s, p99 {p99:+.1f} s, last {late[-1]:+.1f} s (25 a second per bot, "
        f"drain every {CRON_SECONDS} s); late by more than 5 s: {sum(x > 5 for x in late)}, early by more "
        f"than 60 s: {sum(x < -60 for x in late)}; 429s from the Bot API stand-in: {bot.refused}"
    )
    return {"p50": p50, "p99": p99, "refused": float(bot.refused)}


# ---- 3. the portal poll --------------------------------------------------------------------------


async def portal_poll(redis_url: str, data_dir: Path) -> None:
    sandbox = Sandbox(enforce_rate=False)
    server, base = serve(sandbox.app)
    url = async_url(None, data_dir)
    engine = make_engine(url)
    await migrate(engine)
    config = lifecycle_config(redis_url, f"{base}/rest/1/sandbox/", "http://127.0.0.1:1")
    runtime = build_runtime(config, redis_url, sandbox_base="http://127.0.0.1:1", store_url=url)
    portal = runtime.tenants["salon"].portal
    for n in range(1000):  # 1,000 open deals of ours, each a conversation the gateway knows
        conv = f"salon:telegram:{n + 1}"
        fields = {"TITLE": f"Маникюр — {n}", "ORIGINATOR_ID": "lead-gateway", "ORIGIN_ID": conv, "STAGE_ID": "NEW"}
        deal_id = sandbox.dispatch("crm.deal.add", {"fields": fields})
        await save_link(runtime.redis, conv, CrmLink(portal=portal, deal_id=deal_id, contact_id=1))
    made_before = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")
    for deal in sandbox.state.deals.values():  # made earlier: only what changes from now on is "changed"
        deal["DATE_MODIFY"] = made_before
    changes = runtime.portal_changes("salon")
    for changed_a_minute in (0, 10, 100):
        before = sandbox.state.requests
        # an hour of polls, one a minute, on a simulated clock: the deals changed in a minute carry that
        # minute's DATE_MODIFY, and each poll asks from the previous one (minus its 2-minute overlap)
        moment = datetime.now(UTC) - timedelta(minutes=59)
        for minute in range(60):
            for k in range(changed_a_minute):
                deal = sandbox.state.deals[1 + (minute * changed_a_minute + k) % 1000]
                deal["COMMENTS"], deal["DATE_MODIFY"] = f"m{minute}", moment.isoformat(timespec="seconds")
            await poll(changes, moment - timedelta(minutes=1), moment)
            moment += timedelta(minutes=1)
        made = sandbox.state.requests - before
        print(
            f"  1,000 open deals, {changed_a_minute} changed a minute: {made} Bitrix24 requests an hour "
            f"(the smallest plan's budget refills {3600 * 2:,} an hour)"
        )
    await runtime.close()
    await engine.dispose()
    server.should_exit = True


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("LG_BENCH_REDIS", "redis://127.0.0.1:6379/13"))
    parser.add_argument(
        "--pg", default=os.environ.get("LG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--only", type=int, choices=(1, 2, 3), help="run one part")
    args = parser.parse_args()
    sync_redis.Redis.from_url(args.redis).flushdb()
    if args.only in (None, 1):
        print("1. the reminder agenda: 100,000 reminders for 10,000 visits")
        with tempfile.TemporaryDirectory() as tmp:
            await scheduling(async_url(None, Path(tmp)), "SQLite")
        await postgresql(args.pg)
        redis_client = sync_redis.Redis.from_url(args.redis)
        print(f"  Redis holds nothing per planned reminder: {redis_client.dbsize()} keys after planning them all")
    if args.only in (None, 2):
        print("2. a busy minute: 1,000 reminders due at once, Telegram's 30 a second per bot enforced")
        with tempfile.TemporaryDirectory() as tmp:
            await lateness(args.redis, Path(tmp))
        sync_redis.Redis.from_url(args.redis).flushdb()
    if args.only in (None, 3):
        print("3. the poll of changed deals (a lost Bitrix24 event is caught within a minute)")
        with tempfile.TemporaryDirectory() as tmp:
            await portal_poll(args.redis, Path(tmp))
        sync_redis.Redis.from_url(args.redis).flushdb()


async def postgresql(admin_url: str) -> None:
    async with throwaway_database(admin_url) as url:
        if url is not None:
            await scheduling(url, "PostgreSQL")


if __name__ == "__main__":
    asyncio.run(main())
