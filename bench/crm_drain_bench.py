"""Drain a backlog of new leads into the sandbox portal at a standard plan's limits (burst 50, 2 per second).

Run 1: 1,000 leads (a new contact, a deal and a timeline entry each), nothing failing.
Run 2: the same with 20 % of requests failing (half of them after the portal did the work), and the worker
killed with SIGKILL mid-drain and started again. Every lead must end in the portal exactly once.

    python bench/crm_drain_bench.py [--leads 1000] [--redis redis://127.0.0.1:6379/14]

The sandbox and the worker run as separate processes (`lead-gateway sandbox`, `lead-gateway worker`),
so the kill is real; Redis is the one given (its database is flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.bootstrap import connect_redis
from gateway.store.conversations import DialogueState, TimelineEntry, record_message
from gateway.store.queue import CRM_QUEUE, SYNC_CRM

BIN = Path(sys.executable).parent / "lead-gateway"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_file(directory: Path, portal: str, redis_url: str) -> Path:
    config = {
        "redis_url": redis_url,
        "queue": {"max_attempts": 100, "max_jobs": 100},
        "tenants": {
            "bench": {
                "timezone": "Europe/Moscow",
                "bitrix": {"webhook_url": portal, "rate_limit": {"burst": 50, "per_second": 2}},
                "catalog": [{"id": "manicure", "name": "Маникюр"}],
            }
        },
    }
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


async def seed(redis_url: str, leads: int) -> None:
    """The state `handle_inbound` leaves behind for a new lead, and its queued CRM sync."""
    redis = connect_redis(redis_url)
    await redis.flushdb()
    now = datetime.now(UTC)
    for n in range(leads):
        key = f"bench:telegram:{700000 + n}"
        state = DialogueState(
            conversation_key=key,
            tenant="bench",
            channel="telegram",
            chat_id=str(700000 + n),
            sender_id=str(700000 + n),
            name=f"Клиент {n}",
            service_ids=["manicure"],
            time_start=now + timedelta(days=1),
            phone=f"+7913{n:07d}",
            message_count=1,
        )
        entry = TimelineEntry(key=f"tg:{n}", text=f"Хочу маникюр, заявка {n}", at=now)
        await record_message(redis, state, entry)
        await redis.enqueue_job(SYNC_CRM, "bench", key, _job_id=f"crm:{key}:1", _queue_name=CRM_QUEUE)
    await redis.aclose()


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN), *args], stdout=log.open("ab"), stderr=subprocess.STDOUT)


def stats(base: str) -> dict[str, Any]:
    return httpx.get(f"{base}/stats", timeout=10).json()


def wait_until(predicate: Any, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def verify(base: str, leads: int) -> dict[str, int]:
    deals = httpx.get(f"{base}/deals", timeout=60).json()
    origins = collections.Counter(d.get("ORIGIN_ID") for d in deals)
    phones = collections.Counter(p["VALUE"] for d in deals for c in d.get("contacts", []) for p in c.get("PHONE", []))
    return {
        "deals": len(deals),
        "duplicate_deals": sum(n - 1 for n in origins.values() if n > 1),
        "deals_without_contact": sum(1 for d in deals if not d.get("contacts")),
        "contacts_by_phone_twice": sum(1 for n in phones.values() if n > 1),
        "deals_without_exactly_one_comment": sum(1 for d in deals if len(d.get("timeline", [])) != 1),
        "missing_leads": leads - len(origins),
    }


def run(leads: int, redis_url: str, error_rate: float, kill_at: float | None, workdir: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = workdir / f"run-{error_rate}.log"
    sandbox = start(
        ["sandbox", "--port", str(port), "--error-rate", str(error_rate), "--burst", "50", "--per-second", "2"], log
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        wait_until(lambda: _answers(base), 30)
        config = config_file(workdir, f"{base}/rest/1/sandbox/", redis_url)
        asyncio.run(seed(redis_url, leads))
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        started = time.monotonic()
        workers.append(_worker(config, log, env))
        killed_after = None
        if kill_at is not None:
            wait_until(lambda: stats(base)["deals"] >= leads * kill_at, 600)
            workers[-1].send_signal(signal.SIGKILL)
            workers[-1].wait()
            killed_after = stats(base)["deals"]
            workers.append(_worker(config, log, env))
        done = wait_until(lambda: _drained(base, leads), 1800)
        elapsed = time.monotonic() - started
        counters = stats(base)
        return {
            "leads": leads,
            "error_rate": error_rate,
            "drained": done,
            "seconds": round(elapsed, 1),
            "leads_per_second": round(leads / elapsed, 1),
            "requests": counters["requests"],
            "rejected_for_rate": counters["rejected"],
            "injected_failures": counters["failed"],
            "killed_after_deals": killed_after,
            **verify(base, leads),
        }
    finally:
        for process in [*workers, sandbox]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _worker(config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN), "--log-level", "WARNING", "worker", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/stats", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _drained(base: str, leads: int) -> bool:
    s = stats(base)
    return bool(s["deals"] >= leads and s["comments"] >= leads and s["contacts"] >= leads)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--redis", default=os.environ.get("LG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--only", choices=["clean", "faults"], help="run one of the two")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        if args.only in (None, "clean"):
            results.append(run(args.leads, args.redis, 0.0, None, Path(tmp)))
        if args.only in (None, "faults"):
            results.append(run(args.leads, args.redis, 0.2, 0.4, Path(tmp)))
    for result in results:
        title = "clean" if not result["error_rate"] else "20% failing, worker SIGKILLed mid-drain"
        print(f"CRM drain, {title}:")
        print("  " + json.dumps(result, ensure_ascii=False))
    clean = results[0] if results and not results[0]["error_rate"] else None
    if clean:
        verdict = "met" if clean["leads_per_second"] >= 10 and clean["rejected_for_rate"] == 0 else "NOT met"
        print(f"  target >= 10 leads/s, 0 rejected, 0 duplicates: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
