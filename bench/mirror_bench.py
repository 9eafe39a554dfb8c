"""1,000 messages mirrored into the Open Line (app mode): each once and in its chat's order, how long the
line takes to hold them all, the REST requests that costs, and how many of the bot's messages, handed
back by the portal as a manager's (it does so for messages posted on a user's behalf), reached a client.

`lead-gateway run` with the sandbox portal runs as its own process; a Bot API stand-in here notes every
sendMessage. `--clients` clients each write `--messages` messages (the bot answers each), so the line
gets clients x messages x 2 entries. Targets: all in order, 0 doubled, 0 echoes sent.

    python bench/mirror_bench.py [--clients 100] [--messages 5] [--rate 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from first_reply_bench import SECRET, rss_mb
from manager_reply_bench import installed_gateway, wait_for

BOT_MARK = "🤖 "  # how the bot's messages start in the line
WORDS = ["здравствуйте", "хочу на маникюр", "завтра в 3", "а сколько стоит?", "спасибо"]


def message(client: int, n: int) -> dict[str, object]:
    chat = 300000 + client
    return {
        "update_id": client * 100 + n + 1,
        "message": {
            "message_id": n + 1,
            "date": int(time.time()),
            "text": f"{WORDS[n % len(WORDS)]} (#{n})",
            "from": {"id": chat, "is_bot": False, "first_name": "Анна"},
            "chat": {"id": chat, "type": "private"},
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--redis", default=os.environ.get("LG_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    args = parser.parse_args()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    with installed_gateway(args.redis) as (bot, client, process):
        requests_before = client.get("/sandbox/bitrix/stats").json()["requests"]
        started = time.monotonic()
        for n in range(args.messages):  # a round: every client writes once, paced
            for c in range(args.clients):
                client.post("/webhooks/salon/telegram", json=message(c, n), headers=headers).raise_for_status()
                time.sleep(1 / args.rate)
            # the next message after the bot's answer, as a person writes
            wait_for(lambda n=n: len(bot.texts) >= args.clients * (n + 1), 120)

        def lines() -> list[dict[str, Any]]:
            return list(client.get("/sandbox/bitrix/chats.json").json()["chats"])

        wanted = args.clients * args.messages + len(bot.texts)
        wait_for(lambda: sum(len(c["messages"]) for c in lines()) >= wanted, 300)
        took = time.monotonic() - started
        stats = client.get("/sandbox/bitrix/stats").json()
        rss = rss_mb(process.pid)
        time.sleep(5)  # the echoes the portal handed back have had their time
        chats = lines()
    out_of_order = doubled = missing = 0
    for chat in chats:
        said = [m["text"] for m in chat["messages"] if m["author"] == "client"]
        number = int(chat["chat"].split(":")[1]) - 300000
        expected = [str(message(number, n)["message"]["text"]) for n in range(args.messages)]  # type: ignore[index]
        missing += len(set(expected) - set(said))
        doubled += len(said) - len(set(said))
        out_of_order += said != expected and set(said) == set(expected)
        # the line shows a reply's buttons after its text: "[label] | [label]"
        bot_texts = [m["text"].removeprefix(BOT_MARK).split("\n[")[0] for m in chat["messages"] if m["author"] == "bot"]
        sent_here = [text for chat_id, text, _ in bot.texts if chat_id == 300000 + number]
        missing += max(0, len(sent_here) - len(bot_texts)) + (sorted(bot_texts) != sorted(sent_here))
        doubled += max(0, len(bot_texts) - len(sent_here))
        out_of_order += bot_texts != sent_here and sorted(bot_texts) == sorted(sent_here)
    echoes = sum(1 for _, text, _ in bot.texts if text.startswith(BOT_MARK.strip()))
    mirrored = sum(len(c["messages"]) for c in chats)
    posts = stats["calls"].get("imconnector.send.messages", 0)
    print(f"{args.clients} clients x {args.messages} messages at {args.rate}/s; the bot answered {len(bot.texts)}")
    print(
        f"mirrored {mirrored} messages in {len(chats)} chats in {took:.1f} s (from the first message);"
        f" missing {missing}, doubled {doubled}, chats out of order {out_of_order}"
    )
    print(
        f"REST: {posts} imconnector.send.messages calls in {stats['requests'] - requests_before} requests"
        f" (all methods, the batcher's batches counted once)"
    )
    print(f"echoes sent to clients: {echoes}; run RSS {rss:.0f} MB")
    return 0 if not (missing or doubled or out_of_order or echoes) else 1


if __name__ == "__main__":
    sys.exit(main())
