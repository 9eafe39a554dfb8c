"""Fewer empty chairs, measured on the real use cases, a real Redis and the business store (SQLite):

1. Deposits: 100 new clients book at once into 20 half-hour slots (one chair), each booking asks YooKassa's
   stand-in (on loopback, over HTTP) for a payment; nobody pays; two workers end every hold at once.
   Held twice (two visits on one slot): must be 0; leaked (a visit or a held deposit left after the holds
   ended): must be 0; the booking-with-link time p50/p95.
2. Waitlist: 200 clients waiting over a day, 20 visits cancelled at random moments over a minute, the
   offers run every 5 s as the agenda's cron does; time from a cancellation to the first waiting
   client's offer handed to the messenger, p50/p95 (target < 60 s).
3. The masters' load: a year of 50 resources (8 visits a resource a day, ~146,000 visits),
   `GET /utilisation`'s report for the year and for a week.

    python bench/chairs_bench.py [--redis redis://127.0.0.1:6379/13]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from redis.asyncio import Redis
from sqlalchemy import insert

from domain import Address, Recipient, Reply, VisitStatus
from gateway.sandbox.yookassa import YooKassaSandbox
from gateway.settings.tenant import TenantConfig
from gateway.settings.texts import Texts
from gateway.store.sql import deposits as deposit_store
from gateway.store.sql import waitlist as waitlist_store
from gateway.store.sql.engine import make_engine
from gateway.store.sql.migrate import migrate
from gateway.store.sql.schema import visits
from gateway.store.sql.urls import async_url
from gateway.usecases.analytics.reports import Period
from gateway.usecases.analytics.utilisation import report
from gateway.usecases.outreach.pacing import Pacer
from gateway.usecases.outreach.reminders import ReminderContext
from gateway.usecases.outreach.waitlist_offers import offer_freed
from gateway.usecases.visits.appointments import Appointments
from gateway.usecases.visits.deposits import Deposits
from gateway.usecases.visits.dialogue import Dialogue
from payments.yookassa import YooKassa

TENANT = {
    "timezone": "Europe/Moscow",
    "bitrix": {"visit_field": "UF_CRM_VISIT_AT"},
    "catalog": [{"id": "manicure", "name": "Маникюр", "duration_min": 30, "price": 1500}],
    "hours": {"mon": "10:00-21:00", "sun": "10:00-21:00"},
    "lifecycle": {
        "quiet_hours": None,
        "min_lead": "5m",
        "deposit": {"amount": 500, "for": ["new_client"], "hold": "30m"},
        "waitlist": {"offer_for": "15m", "around": "12h"},
    },
    "payments": {"shop_id": "sandbox", "secret_key": "sandbox", "api_base": "http://127.0.0.1:1/v3"},
}


class Recorded:
    """The messenger at the edge: when each offer was handed to it."""

    window = None

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}

    async def send(self, to: Recipient, reply: Reply) -> None:
        self.sent.setdefault(to.chat_id, time.monotonic())

    async def send_outside_window(self, to: Recipient, reply: Reply) -> bool:
        return False

    async def send_template(self, to: Any, template: Any) -> bool:
        return False

    async def acknowledge_button(self, callback_id: str) -> None:
        return None


def serve(app: Any) -> tuple[uvicorn.Server, int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, server.servers[0].sockets[0].getsockname()[1]


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def deposits_part(engine: Any, redis: Redis, tenant: TenantConfig, http: httpx.AsyncClient, base: str) -> None:
    assert tenant.lifecycle is not None and tenant.lifecycle.deposit is not None
    now = datetime.now(UTC)
    app = Appointments(engine, redis, "salon", "p", tenant, tenant.lifecycle, clock=lambda: now)
    provider = YooKassa(http, "sandbox", "sandbox", f"{base}/v3")
    done: list[str] = []

    async def queue_sync(conversation: str) -> None:
        done.append(conversation)

    deposits = Deposits(app, provider, tenant.lifecycle.deposit, "https://salon.example/", queue_sync)
    day = (now + timedelta(days=2)).astimezone(tenant.tz).replace(hour=10, minute=0, second=0, microsecond=0)
    slots = [day + timedelta(minutes=30 * n) for n in range(20)]
    rng = random.Random(3)
    took: list[float] = []

    async def client(n: int) -> Any:
        started = time.monotonic()
        visit = await app.book(
            conversation=f"salon:telegram:{n}",
            to=Address("telegram", str(n)),
            deal_id=None,
            start=rng.choice(slots),
            duration=timedelta(minutes=30),
            services=["manicure"],
            now=now,
            phone=f"+7913000{n:04d}",
        )
        if visit is not None and await deposits.needed(visit):
            await deposits.ask(visit, "Маникюр", 1500, now)
        took.append(time.monotonic() - started)
        return visit

    booked = [v for v in await asyncio.gather(*(client(n) for n in range(100))) if v is not None]
    per_slot: dict[datetime, int] = {}
    for visit in booked:
        per_slot[visit.start_at] = per_slot.get(visit.start_at, 0) + 1
    twice = sum(1 for count in per_slot.values() if count > 1)
    later = now + timedelta(minutes=31)
    outcomes = await asyncio.gather(*(deposits.expire(v, later) for v in booked for _ in range(2)))
    left = [v for v in booked if (await deposit_store.deposit_of(engine, v.id)).status == deposit_store.HELD]  # type: ignore[union-attr]
    active = await app.offer(slots[0], timedelta(minutes=30), now, count=40)
    print(
        f"1. deposits: 100 clients, {len(booked)} booked with a link into 20 slots; held twice: {twice}; "
        f"holds ended by 2 workers: released {outcomes.count('released')}, "
        f"settled before {outcomes.count('settled_before')}; "
        f"held deposits left: {len(left)}, slots free again: {len(set(active) & set(slots))}/20; "
        f"booking with link p50 {statistics.median(took) * 1000:.0f} ms, p95 {pct(took, 0.95) * 1000:.0f} ms"
    )


async def waitlist_part(engine: Any, redis: Redis, tenant: TenantConfig) -> None:
    assert tenant.lifecycle is not None
    now = datetime.now(UTC)
    app = Appointments(engine, redis, "salon", "p", tenant, tenant.lifecycle, clock=lambda: datetime.now(UTC))
    day = (now + timedelta(days=3)).astimezone(tenant.tz).replace(hour=10, minute=0, second=0, microsecond=0)
    booked = []
    for n in range(20):
        start = day + timedelta(minutes=30 * n)
        visit = await app.book(
            conversation=f"salon:telegram:b{n}",
            to=Address("telegram", f"b{n}"),
            deal_id=None,
            start=start,
            duration=timedelta(minutes=30),
            services=["manicure"],
            now=now,
        )
        assert visit is not None
        booked.append(visit)
    for n in range(200):
        row = {
            "conversation": f"salon:telegram:w{n}",
            "channel": "telegram",
            "chat_id": f"w{n}",
            "reply_phone": None,
            "phone": None,
            "services": "manicure",
            "duration_min": 30,
            "wished_from": day - timedelta(hours=1),
            "wished_to": day + timedelta(hours=11),
        }
        await waitlist_store.join(engine, "salon", "p", row, now + timedelta(milliseconds=n))
    messenger = Recorded()

    async def queue_sync(conversation: str) -> None:
        return None

    dialogue = Dialogue([], tenant.opening_hours(), Texts())
    ctx = ReminderContext(app, dialogue, lambda channel: messenger, queue_sync, Pacer())
    cancelled: dict[int, float] = {}
    rng = random.Random(5)
    moments = sorted(rng.uniform(0, 60) for _ in booked)
    started = time.monotonic()

    async def cancel_all() -> None:
        for visit, moment in zip(booked, moments, strict=True):
            await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
            cancelled[visit.id] = time.monotonic()
            await app.set_status(visit, VisitStatus.CANCELLED, datetime.now(UTC))

    async def cron() -> None:
        while time.monotonic() - started < 75:
            tick = time.monotonic()
            await offer_freed(ctx, datetime.now(UTC))
            await asyncio.sleep(max(0.0, 5 - (time.monotonic() - tick)))

    await asyncio.gather(cancel_all(), cron())
    offered = sorted(messenger.sent.values())
    latencies = [o - c for o, c in zip(offered, sorted(cancelled.values()), strict=False)]
    print(
        f"2. waitlist: 20 freed slots, 200 waiting, offers every 5 s: {len(offered)} offered; "
        f"cancellation to offer p50 {statistics.median(latencies):.1f} s, p95 {pct(latencies, 0.95):.1f} s, "
        f"max {max(latencies):.1f} s"
    )


async def utilisation_part(engine: Any, tenant_dict: dict[str, Any]) -> None:
    resources = [{"id": n + 1, "name": f"Мастер {n + 1}"} for n in range(50)]
    tenant = TenantConfig.model_validate({**tenant_dict, "booking": {"resources": resources}})
    first = date(2026, 1, 1)
    rows = []
    for day_number in range(365):
        day = datetime.combine(first + timedelta(days=day_number), datetime.min.time(), tenant.tz)
        for resource in range(1, 51):
            for n in range(8):
                start = day.replace(hour=10 + n)
                rows.append(
                    {
                        "tenant": "load",
                        "portal": "p",
                        "conversation": f"load:{resource}",
                        "start_at": start,
                        "end_at": start + timedelta(minutes=50),
                        "services": "",
                        "status": "visited",
                        "updated_at": start,
                        "resource_id": resource,
                    }
                )
    async with engine.begin() as connection:
        for chunk in range(0, len(rows), 5000):
            await connection.execute(insert(visits), rows[chunk : chunk + 5000])
    for label, period in (
        ("year", Period(first, date(2026, 12, 31))),
        ("week", Period(date(2026, 6, 1), date(2026, 6, 7))),
    ):
        times = []
        for _ in range(3 if label == "year" else 20):
            began = time.monotonic()
            body = await report(engine, "load", tenant, period)
            times.append(time.monotonic() - began)
        booked = sum(d["booked_min"] for r in body["resources"] for d in r["days"])
        print(
            f"3. utilisation, 50 resources, {len(rows)} visits in the store, a {label}: "
            f"median {statistics.median(times) * 1000:.0f} ms (booked {booked} min)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    redis = Redis.from_url(args.redis)
    await redis.flushdb()
    sandbox = YooKassaSandbox()
    server, port = serve(sandbox.app)
    sandbox.public_base = f"http://127.0.0.1:{port}"
    tenant = TenantConfig.model_validate(TENANT)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(async_url(f"sqlite:///{Path(folder) / 'store.db'}", Path(folder)))
        await migrate(engine)
        async with httpx.AsyncClient() as http:
            await deposits_part(engine, redis, tenant, http, f"http://127.0.0.1:{port}")
        await waitlist_part(engine, redis, tenant)
        await utilisation_part(engine, TENANT)
        await engine.dispose()
    server.should_exit = True
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
