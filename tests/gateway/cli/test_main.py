"""The console script's small commands, run in-process against real Redis."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
import redis as sync_redis
import yaml
from redis.asyncio import Redis

from gateway.cli.main import main
from gateway.store import dlq
from tests.conftest import free_port


def write_config(tmp_path, redis_url: str) -> str:
    path = tmp_path / "lead-gateway.yaml"
    path.write_text(yaml.safe_dump({"redis_url": redis_url, "tenants": {"salon": {}}}))
    return str(path)


def test_healthcheck_passes_on_a_fresh_worker_heartbeat_only(tmp_path, redis_url):
    config = write_config(tmp_path, redis_url)
    port = str(free_port())  # nothing listens there: the container is a worker
    assert main(["healthcheck", "--config", config, "--port", port]) == 1
    sync_redis.Redis.from_url(redis_url).set("lg:worker:heartbeat", "alive", ex=11)  # a worker renews it every 10 s
    assert main(["healthcheck", "--config", config, "--port", port]) == 0


def test_dlq_list_and_replay(tmp_path, redis_url, capsys):
    config = write_config(tmp_path, redis_url)

    async def park() -> None:
        client = Redis.from_url(redis_url)
        await dlq.park(client, "sync_crm", ["salon", "salon:telegram:1"], "salon", "NO_AUTH_FOUND", 1)
        await client.aclose()

    asyncio.run(park())
    assert main(["dlq", "list", "--config", config]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed[0]["function"] == "sync_crm" and listed[0]["reason"] == "NO_AUTH_FOUND"
    assert main(["dlq", "replay", "--tenant", "salon", "--config", config]) == 0
    client = sync_redis.Redis.from_url(redis_url)
    assert client.hlen("lg:dlq") == 0 and client.zcard("lg:queue:crm") == 1


def test_a_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"tenants": {"salon": {"channels": {"telegram": {"bot_token": "1:x"}}}}}))
    with pytest.raises(SystemExit) as exited:
        main(["check", "--config", str(path)])
    assert exited.value.code == 2
    assert "tenants.salon.channels.telegram.secret_token: required when mode is webhook" in capsys.readouterr().err


def test_commands_say_what_they_did_and_a_bad_now_is_a_message_not_a_traceback(tmp_path, redis_url, capsys):
    config = write_config(tmp_path, redis_url)
    assert main(["dlq", "list", "--config", config]) == 0
    assert "0 parked job(s)" in capsys.readouterr().err
    sync_redis.Redis.from_url(redis_url).set("lg:worker:heartbeat", "alive", ex=11)
    assert main(["healthcheck", "--config", config, "--port", str(free_port())]) == 0
    assert capsys.readouterr().out.startswith("healthy:")
    assert main(["qualify", "--config", config, "--tenant", "salon", "--now", "tomorrow"]) == 2
    err = capsys.readouterr().err
    assert "--now 'tomorrow': expected an ISO time" in err and "Traceback" not in err


def test_the_embedded_redis_lives_beside_the_config_whatever_the_working_directory(tmp_path, monkeypatch, capsys):
    config_dir, elsewhere = tmp_path / "deploy", tmp_path / "elsewhere"
    config_dir.mkdir()
    elsewhere.mkdir()
    (config_dir / "lead-gateway.yaml").write_text(yaml.safe_dump({"tenants": {"salon": {}}}))
    monkeypatch.delenv("LEAD_GATEWAY_DATA_DIR", raising=False)
    monkeypatch.chdir(elsewhere)
    assert main(["dlq", "list", "--config", str(config_dir / "lead-gateway.yaml")]) == 0
    assert (config_dir / ".lead-gateway").is_dir()
    assert not (elsewhere / ".lead-gateway").exists()


def test_run_on_a_taken_port_fails_before_starting_anything(tmp_path, redis_url, capsys):
    config = write_config(tmp_path, redis_url)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        assert main(["run", "--config", config, "--port", port]) == 1
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err
    assert not sync_redis.Redis.from_url(redis_url).exists("lg:worker:heartbeat")


def test_check_names_the_portal_that_fails_without_its_secret_code(tmp_path, redis_url, portal, capsys):
    wrong = portal.url.replace("/sandbox/", "/not-the-code/")
    path = tmp_path / "lead-gateway.yaml"
    path.write_text(yaml.safe_dump({"redis_url": redis_url, "tenants": {"salon": {"bitrix": {"webhook_url": wrong}}}}))
    assert main(["check", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    base = portal.url.split("/rest/")[0]
    assert f"{base}/rest/1/***/" in out and "not-the-code" not in out


def test_migrate_creates_the_embedded_store_beside_the_config(tmp_path, monkeypatch, capsys):
    import sqlite3

    monkeypatch.delenv("LEAD_GATEWAY_DATA_DIR", raising=False)
    path = tmp_path / "lead-gateway.yaml"
    path.write_text(yaml.safe_dump({"tenants": {"salon": {}}}))
    assert main(["migrate", "--config", str(path)]) == 0
    assert main(["migrate", "--config", str(path)]) == 0  # again: already at head
    assert "schema up to date" in capsys.readouterr().err
    with sqlite3.connect(tmp_path / ".lead-gateway" / "lead-gateway.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"episodes", "visits", "reminders", "alembic_version"} <= tables


def test_consent_export_and_forget_a_person_from_the_command_line(tmp_path, redis_url, monkeypatch, capsys):
    import csv
    from datetime import UTC, datetime

    from domain import Address, ConsentAnswer
    from gateway.store.conversations import DialogueState, TimelineEntry, record_message
    from gateway.store.sql import consents
    from gateway.store.sql.engine import make_engine
    from gateway.store.sql.urls import async_url
    from gateway.store.sql.visits import book_visit

    monkeypatch.delenv("LEAD_GATEWAY_DATA_DIR", raising=False)
    config = write_config(tmp_path, redis_url)
    assert main(["migrate", "--config", config]) == 0
    phone, conv, other = "+79131234567", "salon:telegram:5", "salon:telegram:6"
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    async def seed() -> None:
        engine = make_engine(async_url(None, tmp_path / ".lead-gateway"))
        for answer, text in (
            (ConsentAnswer.ASKED, "Можно присылать предложения?"),
            (ConsentAnswer.YES, "Можно присылать предложения?"),
        ):
            record = consents.ConsentRecord("salon", phone, conv, "telegram", answer, text, "2026-11", "button", now)
            await consents.record(engine, record)
        await book_visit(
            engine,
            tenant="salon",
            portal="p",
            conversation=conv,
            to=Address("telegram", "5"),
            deal_id=None,
            start_at=now,
            end_at=now,
            services=["manicure"],
            capacity=1,
            now=now,
            phone=phone,
        )
        from gateway.store.facts import Fact, Kind
        from gateway.store.sql.analytics import fold

        await fold(
            engine, [Fact("lead:5", Kind.LEAD, "salon", now, conv), Fact("lead:6", Kind.LEAD, "salon", now, other)]
        )
        await engine.dispose()
        client = Redis.from_url(redis_url)
        for key, who in ((conv, phone), (other, "+79990001122")):
            state = DialogueState(
                conversation_key=key,
                tenant="salon",
                channel="telegram",
                chat_id=key[-1],
                sender_id=key[-1],
                phone=who,
                username=f"user{key[-1]}",
            )
            await record_message(client, state, TimelineEntry(key="m1", text="Привет", at=now))  # files addresses
        await client.aclose()

    asyncio.run(seed())
    capsys.readouterr()
    assert main(["consent", "export", "--tenant", "salon", "--config", config]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["answer"], r["person"], r["text_version"]) for r in rows] == [
        ("asked", phone, "2026-11"),
        ("yes", phone, "2026-11"),
    ]
    assert rows[1]["text"] == "Можно присылать предложения?" and rows[1]["at"] == now.isoformat()

    assert main(["forget", "--tenant", "salon", "--phone", "8 913 123-45-67", "--config", config]) == 0
    said = capsys.readouterr().out
    assert f"conversations: 1 ({conv})" in said and "visits: 1" in said and "consent records: 2" in said
    assert "analytics facts: 1 " in said  # the other person's lead stays
    client = sync_redis.Redis.from_url(redis_url)
    assert not client.exists(f"lg:conv:{conv}") and client.exists(f"lg:conv:{other}")
    assert not client.exists(f"lg:addr:salon:phone:{phone}", "lg:addr:salon:telegram:user5")  # the address book
    assert client.get("lg:addr:salon:telegram:user6") == other.encode()
    assert main(["consent", "export", "--tenant", "salon", "--config", config]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []
    assert main(["forget", "--tenant", "spa", "--phone", phone, "--config", config]) == 2


def test_report_prints_the_numbers_and_spend_import_changes_cac(tmp_path, redis_url, monkeypatch, capsys):
    import csv
    import json as json_module

    from gateway.store.sql.analytics import fold
    from gateway.store.sql.engine import make_engine
    from gateway.store.sql.urls import async_url
    from tests.gateway.usecases.test_analytics import HISTORY, PERIOD

    monkeypatch.delenv("LEAD_GATEWAY_DATA_DIR", raising=False)
    path = tmp_path / "lead-gateway.yaml"
    tenant = {
        "timezone": "Europe/Moscow",
        "dashboard": {"password": "owner-secret"},
        "costs": {"variable_per_visit": 300},
    }
    path.write_text(yaml.safe_dump({"redis_url": redis_url, "tenants": {"salon": tenant}}))
    config = str(path)
    assert main(["migrate", "--config", config]) == 0

    async def seed() -> None:
        engine = make_engine(async_url(None, tmp_path / ".lead-gateway"))
        await fold(engine, [*PERIOD, *HISTORY])
        await engine.dispose()

    asyncio.run(seed())
    spend = tmp_path / "spend.csv"
    spend.write_text("date;utm_source;utm_campaign;amount\n2026-11-05;vk;spring;3000\n2026-11-06;ig;reels;1 000,00\n")
    period = ["--tenant", "salon", "--from", "2026-11-01", "--to", "2026-11-30", "--config", config]
    assert main(["spend", "import", "--tenant", "salon", str(spend), "--config", config]) == 0
    capsys.readouterr()
    assert main(["report", *period, "--by", "utm_source", "--format", "json"]) == 0
    body = json_module.loads(capsys.readouterr().out)
    assert body["total"]["spend"] == 4000 and body["total"]["cac"] == 2000
    assert main(["report", *period, "--format", "csv"]) == 0
    rows = {r["key"]: r for r in csv.DictReader(capsys.readouterr().out.splitlines())}
    assert rows["telegram"]["leads"] == "2" and rows["итого"]["visits"] == "3"
    assert main(["report", *period]) == 0
    table = capsys.readouterr().out
    assert "заявки" in table and "telegram" in table and "итого" in table
    assert main(["report", "--tenant", "salon", "--from", "2026-12-01", "--to", "2026-11-01", "--config", config]) == 2
    spend.write_text("day,amount\n2026-11-05,1\n")
    assert main(["spend", "import", "--tenant", "salon", str(spend), "--config", config]) == 2


def test_the_example_configs_vk_max_and_sms_stand_ins_are_served_by_run(make_config):
    import httpx as httpx_module

    from gateway.bootstrap import build_runtime
    from gateway.cli.serving import _outboxes
    from gateway.http.app import create_app
    from gateway.settings import load_config
    from tests.conftest import REDIS_URL, ROOT, LoopbackServer

    config = load_config(ROOT / "lead-gateway.example.yaml", {})
    outboxes = _outboxes(config)
    assert sorted(outboxes) == ["max", "sms", "vk"]
    runtime = build_runtime(config, REDIS_URL, sandbox_base="")
    runtime.outboxes.update(outboxes)
    with LoopbackServer(create_app(runtime)) as server:
        sent = httpx_module.post(
            f"{server.base}/sandbox/vk/method/messages.send", data={"peer_id": "7", "message": "hi"}
        )
        assert sent.json() == {"response": 1}
        assert httpx_module.get(f"{server.base}/sandbox/vk/sent").json() == [
            {"method": "messages.send", "peer_id": "7", "message": "hi"}
        ]
        sms = httpx_module.post(
            f"{server.base}/sandbox/sms/sms/send", data={"to": "79130000000", "msg": "x", "json": "1"}
        )
        assert sms.json()["sms"]["79130000000"]["status_code"] == 100
        assert httpx_module.get(f"{server.base}/sandbox/max/updates").json() == {"updates": [], "marker": 0}
    live = load_config(
        ROOT / "lead-gateway.example.yaml",
        {
            "VK_API_BASE": "https://api.vk.com/method",
            "MAX_API_BASE": "https://platform-api.max.ru",
            "SMS_API_BASE": "https://sms.ru",
        },
    )
    assert _outboxes(live) == {}


def test_check_reaches_vk_max_and_sms_and_names_what_fails(tmp_path, redis_url, capsys):
    from tests.conftest import LoopbackServer
    from tests.max_stand_in import MaxStandIn
    from tests.sms_stand_in import SmsStandIn
    from tests.vk_stand_in import VkStandIn

    vk, bot, sms = VkStandIn(), MaxStandIn(), SmsStandIn()
    with (
        LoopbackServer(vk.app) as vk_server,
        LoopbackServer(bot.app) as max_server,
        LoopbackServer(sms.app) as sms_server,
    ):
        channels = {
            "vk": {
                "group_id": 1,
                "access_token": "t",
                "secret": "s",
                "confirmation": "c",
                "api_base": f"{vk_server.base}/method",
            },
            "max": {"bot_token": "max-bot-token", "secret": "max-secret", "api_base": max_server.base},
        }
        sms_settings = {"provider": "smsru", "api_id": "sms-api-id", "api_base": sms_server.base}
        tenant: dict[str, Any] = {"channels": channels, "sms": sms_settings}
        path = tmp_path / "lead-gateway.yaml"
        path.write_text(yaml.safe_dump({"redis_url": redis_url, "tenants": {"salon": tenant}}))
        assert main(["check", "--config", str(path)]) == 0
        rows = {line.split("  ")[0]: " ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
        assert rows["salon: vk"] == "salon: vk OK token accepted for community 1"
        assert rows["salon: max"] == "salon: max OK bot salon_bot"
        assert rows["salon: sms"] == "salon: sms OK smsru, balance 4762.58"
        assert vk.calls[0][0] == "groups.getById"
        tenant["sms"]["api_id"] = "wrong"
        tenant["channels"]["max"]["bot_token"] = "wrong"
        path.write_text(yaml.safe_dump({"redis_url": redis_url, "tenants": {"salon": tenant}}))
        assert main(["check", "--config", str(path)]) == 1
        rows = {line.split("  ")[0]: " ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
        assert rows["salon: max"].startswith("salon: max FAIL max HTTP 401")
        assert rows["salon: sms"].startswith("salon: sms FAIL balance refused: 200")
