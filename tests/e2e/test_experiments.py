"""Experiments end to end: a reminder-wording experiment in the config, clients booked in Telegram, the
reminders going out in each person's variant, exposures counted only on delivery, a confirmation from
the reminder counted as a conversion, and the owner's API and CLI saying there is not enough data yet."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from domain.experiments import variant_names
from gateway.cli.main import main
from gateway.settings.experiments import ExperimentConfig
from gateway.store.sql.schema import experiment_assignments, experiment_exposures
from gateway.usecases.experiments.book import ExperimentBook
from tests.conftest import gateway, wait_for, wait_for_async
from tests.e2e.test_appointments import (
    CHAT,
    HEADERS,
    OTHER_CHAT,
    Clock,
    book,
    lifecycle_config,
    press,
    sent,
    store_of,
    visit_day,
)
from tests.e2e.test_owner_numbers import OWNER, PASSWORD

VARIANT_B = "Ждём вас: {service}, {when}. Придёте? Если нет, место ждёт другой клиент."
WORDING = {"id": "reminder_wording", "texts": {"reminder": ["{default}", VARIANT_B]}, "metric": "confirmed_3h"}


def experiment_config(make_config: Any, portal: Any, telegram: Any) -> Any:
    extra = {"dashboard": {"password": PASSWORD}, "experiments": [WORDING]}
    return lifecycle_config(make_config, portal, telegram, **extra)


async def rows(engine: Any, table: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list(await connection.execute(select(table).order_by(table.c.id)))


async def test_each_client_gets_their_variant_counted_on_delivery_and_the_owner_is_told_to_wait(
    make_config, portal, telegram, store_url
):
    clock = Clock()
    config = experiment_config(make_config, portal, telegram)
    day = visit_day()
    async with gateway(config, store_url=store_url, clock=clock) as (client, runtime):
        engine = store_of(runtime)
        await book(client, telegram, day, chat=CHAT, first_id=1)
        await book(client, telegram, day + timedelta(hours=2), chat=OTHER_CHAT, first_id=100)
        telegram.blocked.add(OTHER_CHAT)  # her reminder cannot go: no exposure for her
        clock.move_to(day - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for(lambda: len(sent(telegram, CHAT)) == 3, limit=20)
        assigned = await wait_for_async(lambda: _assigned(engine, 1))
        mine = next(r for r in assigned if r.person == f"salon:telegram:{CHAT}")
        reminder = sent(telegram, CHAT)[2]["text"]
        if mine.variant == "B":
            assert reminder.startswith("Ждём вас: Маникюр") and "место ждёт другой клиент" in reminder
        else:
            assert reminder.startswith("Напоминаем о записи: Маникюр")
        clock.move_to(day + timedelta(hours=2) - timedelta(hours=24) + timedelta(seconds=5))
        await wait_for_async(lambda: _outcome_of_other(runtime))
        exposures = await rows(engine, experiment_exposures)
        assert [(e.person, e.variant) for e in exposures] == [(f"salon:telegram:{CHAT}", mine.variant)]
        # she confirms from the reminder, more than 3 h ahead: a conversion for her variant
        await client.post("/webhooks/salon/telegram", json=press(10, f"v:c:{exposures[0].visit_id}"), headers=HEADERS)

        async def converted() -> Any:
            (row,) = (await client.get("/api/salon/experiments", headers=OWNER)).json()
            return row if sum(v["converted"] for v in row["variants"]) == 1 else None

        row = await wait_for_async(converted, limit=20)
        assert row["id"] == "reminder_wording" and row["metric"] == "confirmed_3h" and row["varies"] == "text:reminder"
        settings = [v["setting"] for v in row["variants"]]  # the owner reads the tenant's own text for {default}
        assert settings[0].startswith("Напоминаем о записи: {service}") and settings[1] == VARIANT_B
        assert row["status"] == "not_enough_data" and row["winner"] is None
        by_name = {v["name"]: v for v in row["variants"]}
        assert by_name[mine.variant]["exposed"] == 1 and by_name[mine.variant]["rate"] == 1.0
        assert sum(v["exposed"] for v in row["variants"]) == 1
        assert "нужно ещё ~299 записей" in row["conclusion"]
        assert (await client.get("/api/salon/experiments")).status_code == 401


async def _assigned(engine: Any, count: int) -> list[Any] | None:
    found = await rows(engine, experiment_assignments)
    return found if len(found) >= count else None


async def _outcome_of_other(runtime: Any) -> bool:
    from gateway.store.sql.agenda import reminder_outcomes
    from gateway.store.sql.visits import latest_visit

    visit = await latest_visit(store_of(runtime), "salon", f"salon:telegram:{OTHER_CHAT}")
    return visit is not None and ("24h", "unreachable") in await reminder_outcomes(store_of(runtime), visit.id)


@pytest.fixture
async def experiment_book(make_config, portal, telegram, store_url, redis):
    config = experiment_config(make_config, portal, telegram)
    async with gateway(config, store_url=store_url) as (_client, runtime):
        yield runtime


async def test_a_person_keeps_their_variant_across_channels_restarts_and_a_phone_learned_later(experiment_book):
    runtime = experiment_book
    engine, redis = store_of(runtime), runtime.redis
    experiments = [ExperimentConfig.model_validate({**WORDING, "id": f"wording_{n}"}) for n in range(40)]
    now = Clock()()
    first = ExperimentBook(engine, redis, "salon", experiments)
    before_phone = [await first.variant(e, ["salon:telegram:1"], now) for e in experiments]
    assert len(set(before_phone)) == 2  # forty experiments: both variants occur
    restarted = ExperimentBook(engine, redis, "salon", experiments)  # a new process, the same store
    with_phone = [await restarted.variant(e, ["+79131234567", "salon:telegram:1"], now) for e in experiments]
    assert with_phone == before_phone  # learning her phone changes nothing
    on_whatsapp = [await restarted.variant(e, ["+79131234567", "salon:whatsapp:79131234567"], now) for e in experiments]
    assert on_whatsapp == before_phone  # the same on every channel her phone is vouched on
    stranger = [await restarted.variant(e, ["salon:telegram:2"], now) for e in experiments]
    assert stranger != before_phone  # a different person falls where the hash puts her


def test_the_experiments_command_prints_the_verdict_and_refuses_an_unknown_tenant(
    tmp_path, redis_url, monkeypatch, capsys
):
    monkeypatch.delenv("LEAD_GATEWAY_DATA_DIR", raising=False)
    path = tmp_path / "lead-gateway.yaml"
    tenant = {
        "timezone": "Asia/Novosibirsk",
        "bitrix": {"visit_field": "UF_CRM_VISIT_AT"},
        "lifecycle": {"reminders": ["24h", "2h"]},
        "experiments": [WORDING],
    }
    path.write_text(yaml.safe_dump({"redis_url": redis_url, "tenants": {"salon": tenant}}, allow_unicode=True))
    config = str(path)
    assert main(["migrate", "--config", config]) == 0
    capsys.readouterr()
    assert main(["experiments", "--config", config, "--tenant", "salon"]) == 0
    shown = capsys.readouterr().out
    assert "reminder_wording (confirmed_3h, с —): not_enough_data" in shown
    assert "A: 0/0" in shown and "B: 0/0" in shown and "нужно ещё ~300 записей" in shown
    assert "Напоминаем о записи" in shown and "Ждём вас: {service}, {when}." in shown  # what each variant says
    assert main(["experiments", "--config", config, "--tenant", "salon", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in row["variants"]] == variant_names(2) and row["since"] is None
    assert main(["experiments", "--config", config, "--tenant", "nobody"]) == 2
    assert "no tenant 'nobody'" in capsys.readouterr().err
