"""Managers answering from the Open Line (app mode): reply latency, lost and doubled replies with events
dropped, echoes, the REST calls the connector adds, and the memory of `lead-gateway run`.

`lead-gateway run` (API, workers, the sandbox portal with its app side) runs as its own process; a Bot API
stand-in in this process notes every sendMessage. The app is installed into the sandbox, `--chats` clients
write once each (their chats open in the line), then a manager answers in every chat `--answers` times,
paced at `--rate` a second, through the sandbox's page (the portal posts OnImConnectorMessageAdd to the
gateway). Latency: from the manager's answer to the message reaching the Bot API. Then the same with
`--drop` of the events lost: every reply must still arrive once (the reconciliation finds the rest).
Targets: p95 <= 3 s; 0 lost, 0 doubled, 0 echoes.

    python bench/manager_reply_bench.py [--chats 100] [--answers 3] [--rate 10] [--drop 0.1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis
import uvicorn
import yaml
from cryptography.fernet import Fernet
from starlette.requests import Request
from starlette.responses import JSONResponse

from first_reply_bench import BIN, SECRET, BotApi, free_port, rss_mb, update, wait_ready


class RecordingBotApi(BotApi):
    """The Bot API stand-in that also keeps every text sent, with when it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[tuple[int, str, float]] = []

    async def _method(self, request: Request) -> JSONResponse:
        if request.path_params["method"] == "sendMessage":
            form = await request.form()  # read once: Starlette keeps it for the stand-in's own answer
            self.texts.append((int(str(form.get("chat_id", "0"))), str(form.get("text", "")), time.perf_counter()))
        return await super()._method(request)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def answer_round(
    client: httpx.Client, bot: RecordingBotApi, chats: list[dict[str, Any]], label: str, rate: float, round_no: int
) -> dict[str, float]:
    """Every chat answered once, paced; {text: when the manager sent it}."""
    asked: dict[str, float] = {}
    for n, chat in enumerate(chats):
        text = f"{label} ответ {round_no} в чат {chat['im_chat_id']}"
        asked[text] = time.perf_counter()
        response = client.post(f"/sandbox/bitrix/chats/{chat['im_chat_id']}/answer", data={"text": text})
        assert response.status_code in (200, 303), response.text
        time.sleep(max(0.0, 1 / rate - 0.001) if n % 10 else 0)
    return asked


def arrivals(bot: RecordingBotApi, asked: dict[str, float], limit: float) -> dict[str, list[float]]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = {text for _, text, _ in bot.texts if text in asked}
        if got >= set(asked):
            break
        time.sleep(0.2)
    found: dict[str, list[float]] = {}
    for _, text, at in bot.texts:
        if text in asked:
            found.setdefault(text, []).append(at)
    return found


def start_gateway(redis_url: str, bot_port: int, port: int, tmp: str) -> subprocess.Popen[bytes]:
    """`lead-gateway run` with one app-mode tenant whose Telegram bot is the stand-in on `bot_port`."""
    base = f"http://127.0.0.1:{port}"
    config = Path(tmp) / "bench.yaml"
    tenant = {
        "timezone": "Europe/Moscow",
        "bitrix": {
            "app": {
                "client_id": "local.bench",
                "client_secret": "bench-client-secret",
                "public_url": base,
                "oauth_base": f"{base}/sandbox/bitrix",
            }
        },
        "channels": {
            "telegram": {"bot_token": "1:bench", "secret_token": SECRET, "api_base": f"http://127.0.0.1:{bot_port}"}
        },
        "catalog": [{"id": "manicure", "name": "Маникюр", "duration_min": 60, "price": 1500}],
    }
    config.write_text(yaml.safe_dump({"redis_url": redis_url, "tenants": {"salon": tenant}}, allow_unicode=True))
    env = {**os.environ, "LEAD_GATEWAY_DATA_DIR": tmp, "LEAD_GATEWAY_SECRET_KEY": Fernet.generate_key().decode()}
    command = [str(BIN), "--log-level", "WARNING", "run", "--config", str(config), "--port", str(port)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)


def install(client: httpx.Client) -> None:
    """The app installed into the sandbox portal by its page's button, and its setup done."""
    assert client.post("/sandbox/bitrix/app/install", data={"tenant": "salon"}).status_code in (200, 303)
    wait_for(lambda: client.get("/sandbox/bitrix/chats.json").json()["bindings"] == 2, 30)


def serve_bot(bot: BotApi, port: int) -> None:
    server = uvicorn.Server(uvicorn.Config(bot.app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()


@contextmanager
def installed_gateway(redis_url: str) -> Iterator[tuple[RecordingBotApi, httpx.Client, subprocess.Popen[bytes]]]:
    """`lead-gateway run` with the sandbox portal and a recording Bot API on a flushed Redis, the app
    installed; the bot, a client on the gateway and its process (stopped on the way out)."""
    bot = RecordingBotApi()
    bot_port, port = free_port(), free_port()
    serve_bot(bot, bot_port)
    redis.Redis.from_url(redis_url).flushdb()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        process = start_gateway(redis_url, bot_port, port, tmp)
        try:
            wait_ready(f"{base}/readyz")
            with httpx.Client(base_url=base, timeout=30) as client:
                install(client)
                yield bot, client, process
        finally:
            process.terminate()
            process.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--answers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--drop", type=float, default=0.1)
    parser.add_argument("--redis", default=os.environ.get("LG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()
    with installed_gateway(args.redis) as (bot, client, process):
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for n in range(args.chats):  # each client writes once: their chat opens in the line
            client.post("/webhooks/salon/telegram", json=update(n), headers=headers).raise_for_status()

        def opened() -> list[dict[str, Any]]:
            chats = client.get("/sandbox/bitrix/chats.json").json()["chats"]
            return [c for c in chats if len(c["messages"]) >= 2]

        wait_for(lambda: len(opened()) == args.chats, 120)
        chats = opened()
        rss_idle = rss_mb(process.pid)
        greetings = len(bot.texts)
        latencies: list[float] = []
        doubled = lost = 0
        for round_no in range(args.answers):
            asked = answer_round(client, bot, chats, "обычный", args.rate, round_no)
            found = arrivals(bot, asked, 60)
            latencies += [found[t][0] - asked[t] for t in found]
            lost += len(set(asked) - set(found))
            doubled += sum(len(v) - 1 for v in found.values())
        calls_before = client.get("/sandbox/bitrix/stats").json()["calls"]
        client.post("/sandbox/bitrix/app/faults", data={"drop_events": str(args.drop)})
        started = time.monotonic()
        asked = answer_round(client, bot, chats, "потерянный", args.rate, 0)
        found = arrivals(bot, asked, 300)
        drop_lost = len(set(asked) - set(found))
        drop_doubled = sum(len(v) - 1 for v in found.values())
        all_in = time.monotonic() - started
        dropped = client.get("/sandbox/bitrix/chats.json").json()["events_dropped"]
        calls_after = client.get("/sandbox/bitrix/stats").json()["calls"]
        reads = calls_after.get("im.dialog.messages.get", 0) - calls_before.get("im.dialog.messages.get", 0)
        rss_load = rss_mb(process.pid)
        # one reconciliation with nothing new: the REST requests it costs (the batcher groups reads)
        requests_before = client.get("/sandbox/bitrix/stats").json()["requests"]
        time.sleep(125)
        idle_requests = client.get("/sandbox/bitrix/stats").json()["requests"] - requests_before
    per_chat = Counter(chat for chat, _, _ in bot.texts)
    expected = 1 + args.answers + 1  # the greeting, the answers, the round with events dropped
    echoes = sum(max(0, n - expected) for n in per_chat.values())
    print(f"chats {args.chats}, answers {args.chats * args.answers} at {args.rate}/s")
    print(
        f"manager -> client: p50 {statistics.median(latencies) * 1000:.0f} ms,"
        f" p95 {percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms;"
        f" lost {lost}, doubled {doubled}"
    )
    print(
        f"with {args.drop:.0%} of events dropped ({dropped} lost on the way): replies lost {drop_lost},"
        f" doubled {drop_doubled}, all delivered after {all_in:.0f} s; im.dialog.messages.get calls {reads}"
    )
    print(f"a reconciliation of {args.chats} open chats with nothing new: {idle_requests} REST requests")
    print(f"bot greetings {greetings}, echoes sent to clients {echoes}")
    print(f"run RSS: idle with {args.chats} open chats {rss_idle:.0f} MB, after the load {rss_load:.0f} MB")
    return 0 if not (lost or doubled or drop_lost or drop_doubled or echoes) else 1


def wait_for(probe: Any, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit("condition not met in time")
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
