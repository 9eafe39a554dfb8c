"""Webhook throughput: `lead-gateway serve`'s Telegram webhook against the bare minimum (bench/bare_webhook.py).

Both run as one uvicorn process on loopback against the same Redis; wrk (Debian package `wrk`) sends
distinct updates from 64 connections for 10 s after a 2 s warm-up. The two are loaded in turn, for several
rounds, and the medians compared, so a slow spell of the shared machine does not land on one side only.
Target: serve >= 0.8 of the bare app.

    python bench/webhook_bench.py [--redis redis://127.0.0.1:6379/13] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis
import yaml

SECRET = "bench-secret"  # noqa: S105 - a stand-in, not a credential
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent / "lead-gateway"
LUA = r"""
counter = 0
request = function()
  counter = counter + 1
  local chat = 100000 + counter % 5000
  local body = string.format('{"update_id": %d, "message": {"message_id": %d, "date": 1763800000, '
    .. '"text": "Хочу маникюр завтра в 3, 8 913 123-45-67", "from": {"id": %d, "is_bot": false, '
    .. '"first_name": "Анна"}, "chat": {"id": %d, "type": "private"}}}', counter, counter, chat, chat)
  return wrk.format("POST", "/webhooks/bench/telegram", {["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = "bench-secret"}, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on {port}")


def load(port: int, seconds: int, script: Path) -> float:
    """Requests per second wrk measured (after a 2 s warm-up run)."""
    url = f"http://127.0.0.1:{port}"
    subprocess.run(["wrk", "-t1", "-c64", "-d2s", "-s", str(script), url], capture_output=True, check=True)
    out = subprocess.run(
        ["wrk", "-t1", "-c64", f"-d{seconds}s", "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} requests were not answered 200:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=os.environ.get("LG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("webhook bench needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "updates.lua"
        script.write_text(LUA)
        config = Path(tmp) / "bench.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "redis_url": args.redis,
                    "tenants": {
                        "bench": {
                            "bitrix": {"webhook_url": "http://127.0.0.1:9/rest/1/x/"},
                            "channels": {
                                "telegram": {
                                    "bot_token": "1:bench",
                                    "secret_token": SECRET,
                                    "api_base": "http://127.0.0.1:9",
                                }
                            },
                        }
                    },
                }
            )
        )
        commands = {
            "lead-gateway serve": [str(BIN), "--log-level", "WARNING", "serve", "--config", str(config)],
            "bare app": [sys.executable, str(HERE / "bare_webhook.py"), "--redis", args.redis, "--secret", SECRET],
        }
        ports = {name: free_port() for name in commands}
        processes = [
            subprocess.Popen([*command, "--port", str(ports[name])], stdout=subprocess.DEVNULL)
            for name, command in commands.items()
        ]
        try:
            for port in ports.values():
                wait_up(port)
            for _ in range(args.rounds):
                for name, port in ports.items():
                    # wrk numbers its updates from 1 each run: without the flush they would be duplicates.
                    redis.Redis.from_url(args.redis).flushdb()
                    rates.setdefault(name, []).append(load(port, args.seconds, script))
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)
    redis.Redis.from_url(args.redis).flushdb()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    ratio = medians["lead-gateway serve"] / medians["bare app"]
    print(f"webhook throughput (distinct Telegram updates, 64 connections, one process each, {args.rounds} rounds):")
    for name, values in rates.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {name:<20} median {medians[name]:6.0f} req/s   ({runs})")
    print(f"  ratio of medians {ratio:.2f}   target >= 0.80 {'met' if ratio >= 0.8 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
