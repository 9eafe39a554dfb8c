"""A `lead-gateway worker` killed (SIGKILL) while a reminder is on its way is not made to send it again
by the worker that replaces it: the reminder was claimed in the store before it was sent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from domain import Address
from gateway.bootstrap import portal_of
from gateway.store import keys
from gateway.store.sql.agenda import plan_reminders, reminder_outcomes
from gateway.store.sql.engine import make_engine
from gateway.store.sql.migrate import migrate
from gateway.store.sql.urls import async_url
from gateway.store.sql.visits import save_visit
from tests.conftest import REDIS_URL, SECRET, LoopbackServer

LEAD_GATEWAY = Path(sys.executable).parent / "lead-gateway"


class SlowBotApi:
    """Takes each message at once and answers only after `hold` seconds: a worker killed meanwhile has
    sent the reminder (the person would see it) without learning that it went."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.messages: list[str] = []
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._method, methods=["POST", "GET"])])

    async def _method(self, request: Request) -> JSONResponse:
        form = await request.form()
        if request.path_params["method"] != "sendMessage":
            return JSONResponse({"ok": True, "result": True})
        self.messages.append(str(form.get("text", "")))
        await asyncio.sleep(self.hold)
        chat = {"id": int(str(form.get("chat_id", "0"))), "type": "private"}
        return JSONResponse({"ok": True, "result": {"message_id": 1, "date": int(time.time()), "chat": chat}})


def write_config(path: Path, portal: str, bot_api: str) -> None:
    tenant = {
        "timezone": "Europe/Moscow",
        "bitrix": {"webhook_url": portal, "visit_field": "UF_CRM_VISIT_AT"},
        "channels": {"telegram": {"bot_token": "1:crash", "secret_token": SECRET, "api_base": bot_api}},
        "catalog": [{"id": "manicure", "name": "Маникюр", "duration_min": 60}],
        "hours": {"mon": "00:00-24:00"},
        "lifecycle": {"reminders": ["24h"], "quiet_hours": None},
    }
    path.write_text(yaml.safe_dump({"redis_url": REDIS_URL, "tenants": {"salon": tenant}}, allow_unicode=True))


def start_worker(config: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "LEAD_GATEWAY_DATA_DIR": str(data_dir)}
    command = [str(LEAD_GATEWAY), "--log-level", "WARNING", "worker", "--config", str(config)]
    return subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL)  # noqa: S603 - our own command


async def wait_until(probe: Any, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not probe():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_worker_killed_mid_send_leaves_the_reminder_sent_once(tmp_path, portal, redis):
    bot = SlowBotApi(hold=20)
    with LoopbackServer(bot.app) as bot_server:
        config = tmp_path / "lead-gateway.yaml"
        write_config(config, portal.url, bot_server.base)
        engine = make_engine(async_url(None, tmp_path))
        await migrate(engine)
        start = datetime.now(UTC) + timedelta(days=1, seconds=4)
        visit = await save_visit(
            engine,
            tenant="salon",
            portal=portal_of(portal.url),  # the worker drains the visits of the portal it serves
            deal_id=1,
            conversation="salon:telegram:5512345678",
            start_at=start,
            end_at=start + timedelta(hours=1),
            services=("manicure",),
            status="booked",
            now=datetime.now(UTC),
            to=Address("telegram", "5512345678"),
        )
        await plan_reminders(engine, visit.id, [("24h", start - timedelta(hours=24))])
        first = start_worker(config, tmp_path)
        try:
            await wait_until(lambda: len(bot.messages) == 1, limit=30)  # on its way, not yet answered
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            async for lock in redis.scan_iter(keys.agenda_lock("*")):  # as when it expires (80 s): the next drain runs
                await redis.delete(lock)
            second = start_worker(config, tmp_path)
            try:
                await asyncio.sleep(12)  # two drains and more (every 5 s)
                assert second.poll() is None  # still running: it had the chance to send again
            finally:
                second.terminate()
                second.wait(20)
        finally:
            if first.poll() is None:
                first.kill()
        assert len(bot.messages) == 1 and bot.messages[0].startswith("Напоминаем о записи")
        assert await reminder_outcomes(engine, visit.id) == [("24h", None)]  # claimed, its outcome unknown
        await engine.dispose()
