"""The least a correct Telegram webhook must do, as a bare Starlette app: the yardstick for `serve`.

Check the secret in constant time, read and parse the body, refuse what is not an update, drop a
re-delivery, queue the update as an arq job with a deterministic id, and answer only then.

    python bench/bare_webhook.py --port 8101 --redis redis://127.0.0.1:6379/13 --secret S
"""

from __future__ import annotations

import argparse
import json
import secrets

import uvicorn
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def make_app(redis_url: str, secret: str) -> Starlette:
    redis = ArqRedis(ConnectionPool.from_url(redis_url))

    async def webhook(request: Request) -> JSONResponse:
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not secrets.compare_digest(given.encode(), secret.encode()):
            return JSONResponse({"error": "bad_secret"}, status_code=403)
        try:
            update = json.loads(await request.body())
            update_id = int(update["update_id"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "malformed_body"}, status_code=400)
        seen = f"bare:seen:{update_id}"
        if await redis.exists(seen):
            return JSONResponse({"ok": True, "status": "duplicate"})
        await redis.enqueue_job("handle", update, _job_id=f"bare:{update_id}", _queue_name="bare:queue")
        await redis.set(seen, "1", ex=8 * 24 * 3600)
        return JSONResponse({"ok": True, "status": "queued"})

    return Starlette(routes=[Route("/webhooks/{tenant}/telegram", webhook, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    uvicorn.run(make_app(args.redis, args.secret), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
