"""Shared fixtures: a real Redis (db 15 by default), loopback servers for the outside services."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
import uvicorn
from redis.asyncio import Redis

from gateway.config import AppConfig, parse_config

# ../shared beside the repo, as in development and CI
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
REDIS_URL = os.environ.get("LG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "test-secret_1"


def fixture_json(relative: str) -> Any:
    text = (FIXTURES / relative).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    return json.loads("\n".join(lines))


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = sync_redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except sync_redis.RedisError as exc:
        pytest.fail(f"tests need a real Redis at {REDIS_URL}: {exc}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread: a real HTTP peer for clients."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def tenant_config(bitrix_url: str | None, telegram_base: str, **overrides: Any) -> dict[str, Any]:
    tenant: dict[str, Any] = {
        "timezone": "Asia/Novosibirsk",
        "bitrix": {"webhook_url": bitrix_url, "rate_limit": {"burst": 50, "per_second": 2}},
        "channels": {"telegram": {"bot_token": "123456:test-token", "secret_token": SECRET, "api_base": telegram_base}},
        "deeplinks": {"spring_ig": {"utm_source": "instagram", "utm_medium": "cpc", "utm_campaign": "spring"}},
        "catalog": [
            {
                "id": "haircut_men",
                "name": "Мужская стрижка",
                "aliases": ["подстричься", "фейд"],
                "duration_min": 45,
                "price": 1200,
            },
            {"id": "manicure", "name": "Маникюр", "duration_min": 60, "price": 1500},
        ],
        "hours": {"mon": "10:00-21:00", "sat": "10:00-18:00", "sun": None},
    }
    tenant.update(overrides)
    return tenant


@pytest.fixture
def make_config(redis_url: str) -> Callable[..., AppConfig]:
    def build(bitrix_url: str | None, telegram_base: str, **overrides: Any) -> AppConfig:
        return parse_config(
            {
                "redis_url": redis_url,
                "queue": {"max_attempts": 3},
                "tenants": {"salon": tenant_config(bitrix_url, telegram_base, **overrides)},
            },
            {},
        )

    return build


async def wait_for(predicate: Callable[[], bool], limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
