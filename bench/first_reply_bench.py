"""Time to first reply at 50 messages a second (rules only), and the memory and CPU of `lead-gateway run`.

`lead-gateway run` (API, both workers, the built-in sandbox portal) runs as its own process; a Bot API
stand-in in this process notes when each chat's first sendMessage arrives. 1,000 new clients write once
each, paced at 50 a second; the latency is from posting the update to the reply reaching the Bot API.
Resident memory and CPU time are read from /proc while idle and throughout the load; CPU also for
redis-server. With `--split`, `serve`, `worker` and `sandbox` run as three processes, each measured.
Targets: p99 < 300 ms, < 150 MB.

    python bench/first_reply_bench.py [--rate 50] [--messages 1000] [--split] [--redis redis://127.0.0.1:6379/13]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BIN = Path(sys.executable).parent / "lead-gateway"
SECRET = "bench-secret"  # noqa: S105 - a stand-in, not a credential


class BotApi:
    """Answers like the Bot API and notes when each chat's first message arrives."""

    def __init__(self) -> None:
        self.first_reply: dict[int, float] = {}
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._method, methods=["POST", "GET"])])

    async def _method(self, request: Request) -> JSONResponse:
        arrived = time.perf_counter()
        form = await request.form()
        if request.path_params["method"] == "sendMessage":
            chat = int(str(form.get("chat_id", "0")))
            self.first_reply.setdefault(chat, arrived)
            result = {"message_id": 1, "date": int(time.time()), "chat": {"id": chat, "type": "private"}, "text": ""}
            return JSONResponse({"ok": True, "result": result})
        return JSONResponse({"ok": True, "result": True})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def update(n: int) -> dict[str, object]:
    chat = 200000 + n
    return {
        "update_id": n + 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "text": "Здравствуйте! Хочу маникюр завтра в 3",
            "from": {"id": chat, "is_bot": False, "first_name": "Анна"},
            "chat": {"id": chat, "type": "private"},
        },
    }


async def send_paced(base: str, rate: float, messages: int) -> dict[int, float]:
    sent: dict[int, float] = {}
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=100)) as client:

        async def one(n: int, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            sent[200000 + n] = time.perf_counter()
            response = await client.post("/webhooks/bench/telegram", json=update(n), headers=headers)
            response.raise_for_status()

        start = time.perf_counter() + 0.5
        await asyncio.gather(*(one(n, start + n / rate) for n in range(messages)))
    return sent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--redis", default=os.environ.get("LG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument(
        "--analytics", action="store_true", help="the tenant has a dashboard: lead and first-reply facts are recorded"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="`serve`, `worker` and `sandbox` as three processes instead of `run`: the CPU of each",
    )
    args = parser.parse_args()
    bot = BotApi()
    bot_port, port, portal_port = free_port(), free_port(), free_port()
    bot_server = uvicorn.Server(uvicorn.Config(bot.app, host="127.0.0.1", port=bot_port, log_level="warning"))
    threading.Thread(target=bot_server.run, daemon=True).start()
    server = redis.Redis.from_url(args.redis)
    server.flushdb()
    redis_pid = int(server.info("server")["process_id"])
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        tenant: dict[str, object] = {
            "timezone": "Europe/Moscow",
            "channels": {
                "telegram": {"bot_token": "1:bench", "secret_token": SECRET, "api_base": f"http://127.0.0.1:{bot_port}"}
            },
            "catalog": [{"id": "manicure", "name": "Маникюр", "duration_min": 60, "price": 1500}],
            "hours": {"mon": "10:00-21:00"},
        }
        if args.analytics:
            tenant["dashboard"] = {"password": "bench-dashboard"}
        if args.split:
            tenant["bitrix"] = {"webhook_url": f"http://127.0.0.1:{portal_port}/rest/1/sandbox/"}
        config.write_text(yaml.safe_dump({"redis_url": args.redis, "tenants": {"bench": tenant}}, allow_unicode=True))
        env = {**os.environ, "LEAD_GATEWAY_DATA_DIR": tmp}
        common = [str(BIN), "--log-level", "WARNING"]
        if args.split:
            commands = {
                "sandbox portal": [*common, "sandbox", "--port", str(portal_port)],
                "serve": [*common, "serve", "--config", str(config), "--port", str(port)],
                "worker": [*common, "worker", "--config", str(config)],
            }
        else:
            commands = {"run": [*common, "run", "--config", str(config), "--port", str(port)]}
        processes = {name: subprocess.Popen(c, stdout=subprocess.DEVNULL, env=env) for name, c in commands.items()}
        pids = {name: process.pid for name, process in processes.items()}
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz")
            # idle as it stays: the workers slow their polling after a few seconds with nothing to do
            time.sleep(8)
            idle = {name: rss_mb(pid) for name, pid in pids.items()}
            metrics_url = f"http://127.0.0.1:{port}/metrics"
            watched = {**pids, "redis-server": redis_pid}
            idle_started, idle_cpu, idle_trips = time.monotonic(), cpu_of(watched), round_trips(metrics_url)
            time.sleep(10)
            idle_seconds = time.monotonic() - idle_started
            idle_rate = {name: (seconds - idle_cpu[name]) / idle_seconds for name, seconds in cpu_of(watched).items()}
            idle_trips_rate = {
                role: (n - idle_trips.get(role, 0)) / idle_seconds for role, n in round_trips(metrics_url).items()
            }
            commands_before = redis_commands(server)
            load_started, load_cpu, load_trips = time.monotonic(), cpu_of(watched), round_trips(metrics_url)
            samples: dict[str, list[float]] = {name: [] for name in pids}
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    for name, pid in pids.items():
                        samples[name].append(rss_mb(pid))
                    time.sleep(0.25)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            sent = asyncio.run(send_paced(f"http://127.0.0.1:{port}", args.rate, args.messages))
            wait_until = time.monotonic() + 60
            while len(bot.first_reply) < len(sent) and time.monotonic() < wait_until:
                time.sleep(0.1)
            while time.monotonic() < wait_until and (server.zcard("lg:queue:crm") or server.zcard("lg:queue:inbound")):
                time.sleep(0.1)  # every deal made: the CPU below is for the whole work of each message
            elapsed = time.monotonic() - load_started
            per_message = {
                name: (seconds - load_cpu[name] - idle_rate[name] * elapsed) / max(args.messages, 1)
                for name, seconds in cpu_of(watched).items()
            }
            # every command the server ran meanwhile (one client, idle polling included), a message
            commands_per_message = (redis_commands(server) - commands_before) / max(args.messages, 1)
            # round trips the gateway made, by role, net of what idle polling makes in the same time
            trips = {
                role: (n - load_trips.get(role, 0) - idle_trips_rate.get(role, 0.0) * elapsed) / max(args.messages, 1)
                for role, n in round_trips(metrics_url).items()
            }
            portal_stats = (
                f"http://127.0.0.1:{portal_port}/stats"
                if args.split
                else f"http://127.0.0.1:{port}/sandbox/bitrix/stats"
            )
            landed = httpx.get(portal_stats, timeout=5).json()
            stop.set()
            sampler.join()
        finally:
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                process.wait(20)
            bot_server.should_exit = True
    latencies = sorted((bot.first_reply[c] - t) * 1000 for c, t in sent.items() if c in bot.first_reply)
    measured = Measured(
        latencies, len(sent), idle, samples, per_message, idle_rate, commands_per_message, trips, landed
    )
    report(args, list(pids), measured, idle_trips_rate)
    return 0


@dataclass
class Measured:
    latencies: list[float]  # first reply, ms, sorted
    sent: int
    idle: dict[str, float]  # MB by process
    samples: dict[str, list[float]]  # MB under load, by process
    per_message: dict[str, float]  # CPU seconds by process
    idle_rate: dict[str, float]  # CPU seconds a second by process
    commands_per_message: float
    trips: dict[str, float]  # by role
    landed: dict[str, int]  # the sandbox portal's counts


def report(args: argparse.Namespace, processes: list[str], m: Measured, idle_trips_rate: dict[str, float]) -> None:
    count = len(m.latencies)
    facts = ", analytics facts recorded" if args.analytics else ""
    shape = "`serve` + `worker` + `sandbox`" if args.split else "`lead-gateway run`"
    print(f"time to first reply, {args.messages} new clients at {args.rate:.0f}/s, rules only ({shape}{facts}):")
    print(f"  replied {count}/{m.sent}")
    work = {name: m.landed[name] for name in ("deals", "contacts", "comments")}
    whole = work["deals"] == work["contacts"] == m.sent and work["comments"] >= m.sent
    counts = ", ".join(f"{n} {name}" for name, n in work.items())
    print(f"  in the portal: {counts}   {'all' if whole else 'NOT all'} done")
    if count:
        p = {q: m.latencies[min(count - 1, int(count * q / 100))] for q in (50, 90, 99)}
        print(
            f"  p50 {p[50]:.0f} ms, p90 {p[90]:.0f} ms, p99 {p[99]:.0f} ms, max {m.latencies[-1]:.0f} ms, "
            f"mean {statistics.mean(m.latencies):.0f} ms   target p99 < 300 ms {'met' if p[99] < 300 else 'NOT met'}"
        )
    peak = {name: max(m.samples[name], default=0.0) for name in processes}
    if args.split:
        shown = ", ".join(f"{name} {m.idle[name]:.0f} / {peak[name]:.0f}" for name in processes)
        print(f"  resident memory, idle / under load peak: {shown} MB")
    else:
        verdict = "met" if max(m.idle["run"], peak["run"]) < 150 else "NOT met"
        print(
            f"  resident memory of `run`: idle {m.idle['run']:.0f} MB, under load {peak['run']:.0f} MB peak"
            f"   target < 150 MB {verdict}"
        )
    gateway = sum(v for name, v in m.per_message.items() if name != "redis-server")
    print(
        f"  CPU a message (reply, deal, contact, timeline; net of idle): {gateway * 1000:.1f} ms in the gateway"
        f" ({', '.join(f'{name} {m.per_message[name] * 1000:.1f}' for name in processes)}),"
        f" {m.per_message['redis-server'] * 1000:.1f} ms in redis-server"
        + verdict_of(gateway * 1000, 8.0, "≤ 8 ms", args)
    )
    idle_share = sum(v for name, v in m.idle_rate.items() if name != "redis-server")
    print(
        f"  idle CPU of the gateway: {idle_share * 100:.1f} % of a core"
        + verdict_of(idle_share * 100, 1.0, "< 1 %", args)
    )
    print(f"  Redis commands a message (INFO commandstats, idle polling included): {m.commands_per_message:.1f}")
    shown = ", ".join(f"{role} {m.trips[role]:.1f}" for role in sorted(m.trips))
    where = "`serve`'s /metrics: the worker's are its own" if args.split else "the gateway's /metrics"
    limits = {"inbound": 5.0, "crm": 6.0}
    worst = max((m.trips.get(role, 0.0) / limit for role, limit in limits.items()), default=0.0)
    verdict = verdict_of(worst, 1.0, "inbound ≤ 5, crm ≤ 6", args)
    print(f"  Redis round trips a message, by role, net of idle polling ({where}): {shown}{verdict}")
    print(f"    idle polling: {', '.join(f'{r} {v:.1f}/s' for r, v in sorted(idle_trips_rate.items()))}")


def verdict_of(value: float, limit: float, target: str, args: argparse.Namespace) -> str:
    """Issue 14's targets are for `run`: judged there, not for the processes of `--split`."""
    if args.split:
        return ""
    return f"   target {target} {'met' if value <= limit else 'NOT met'}"


def wait_ready(url: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def round_trips(metrics_url: str) -> dict[str, float]:
    """lead_gateway_redis_round_trips_total by role, as the gateway counts them."""
    found: dict[str, float] = {}
    for line in httpx.get(metrics_url, timeout=5).text.splitlines():
        if line.startswith("lead_gateway_redis_round_trips_total{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('role="', 1)[1].split('"', 1)[0]] = float(value)
    return found


def redis_commands(server: redis.Redis) -> int:
    """Commands the Redis server has run so far (a MULTI/EXEC counts each command inside)."""
    stats = server.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


if __name__ == "__main__":
    raise SystemExit(main())
