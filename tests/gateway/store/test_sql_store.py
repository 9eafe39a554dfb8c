"""The business store on SQLite and PostgreSQL: migrations, aware times, visits, reminders claimed once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import StatementError

from gateway.store.sql.agenda import (
    claim_reminder,
    due_reminders,
    plan_reminders,
    record_reminder,
    release_reminder,
    reminder_outcomes,
)
from gateway.store.sql.engine import async_url, make_engine
from gateway.store.sql.migrate import migrate
from gateway.store.sql.visits import save_visit, visit_of_deal

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MSK = ZoneInfo("Europe/Moscow")


SERVED = [("salon", "p1")]  # the (tenant, portal) pairs the test process serves


async def test_several_processes_migrating_at_once_end_with_one_schema_at_head(database_url):
    engines = [make_engine(async_url(database_url, Path("."))) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(engine) for engine in engines))
        await migrate(engines[0])  # again: nothing to do
        async with engines[0].connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        assert {"episodes", "visits", "reminders", "consents", "facts", "spend"} <= tables and version == "0009"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_visit_keeps_aware_times_and_is_one_row_per_deal(database_url):
    engine = make_engine(async_url(database_url, Path(".")))
    try:
        await migrate(engine)
        start = datetime(2026, 12, 1, 15, 0, tzinfo=MSK)
        common: dict[str, Any] = {
            "tenant": "salon",
            "portal": "p1",
            "deal_id": 42,
            "conversation": "salon:telegram:1",
            "now": NOW,
        }
        first = await save_visit(
            engine, **common, start_at=start, end_at=start + timedelta(hours=1), services=("manicure",), status="booked"
        )
        assert first.start_at == start and first.start_at.tzinfo is not None
        moved = await save_visit(
            engine,
            **common,
            start_at=start + timedelta(days=1),
            end_at=start + timedelta(days=1, hours=1),
            services=("manicure", "pedicure"),
            status="booked",
        )
        assert moved.id == first.id and moved.start_at == start + timedelta(days=1)
        assert moved.services == ("manicure", "pedicure")
        assert await visit_of_deal(engine, "salon", "p2", 42) is None  # another portal's deal 42 is another visit
        naive = start.replace(tzinfo=None)
        with pytest.raises(StatementError, match="naive"):
            await save_visit(engine, **common, start_at=naive, end_at=start, services=(), status="booked")
    finally:
        await engine.dispose()


async def test_a_reminder_is_claimed_once_however_many_workers_try(database_url):
    engine = make_engine(async_url(database_url, Path(".")))
    try:
        await migrate(engine)
        start = NOW + timedelta(days=1)
        visit = await save_visit(
            engine,
            tenant="salon",
            portal="p1",
            deal_id=7,
            conversation="salon:telegram:7",
            start_at=start,
            end_at=start + timedelta(hours=1),
            services=("manicure",),
            status="booked",
            now=NOW,
        )
        due = start - timedelta(hours=24)
        await plan_reminders(engine, visit.id, [("24h", due), ("2h", start - timedelta(hours=2))])
        assert await due_reminders(engine, due - timedelta(seconds=1), SERVED) == []
        (first,) = await due_reminders(engine, due, SERVED)
        claims = await asyncio.gather(*(claim_reminder(engine, first.id, NOW) for _ in range(8)))
        assert claims.count(True) == 1
        await record_reminder(engine, first.id, "sent", "telegram message 12", NOW)
        assert await claim_reminder(engine, first.id, NOW) is False  # a retry after the send
        assert await due_reminders(engine, due, SERVED) == []
        # the visit moved: its unclaimed reminders are planned anew, the one sent stays sent
        moved_due = due + timedelta(hours=3)
        await plan_reminders(engine, visit.id, [("24h", moved_due)])
        (again,) = await due_reminders(engine, moved_due, SERVED)
        assert (again.kind, again.due_at) == ("24h", moved_due) and again.id != first.id
        assert await claim_reminder(engine, again.id, NOW) is True
        await release_reminder(engine, again.id)  # the platform refused it for now: planned again
        assert [r.id for r in await due_reminders(engine, moved_due, SERVED)] == [again.id]
        assert await reminder_outcomes(engine, visit.id) == [("24h", "sent")]
        # a process serving another tenant, or the same tenant on another portal, does not see them
        assert await due_reminders(engine, moved_due, [("spa", "p1"), ("salon", "p2")]) == []
    finally:
        await engine.dispose()


async def test_visits_past_the_kept_time_go_with_their_reminders_and_recent_ones_stay(database_url):
    from gateway.store.sql.agenda import planned_reminders
    from gateway.store.sql.visits import prune, visit_by_id

    engine = make_engine(async_url(database_url, Path(".")))
    try:
        await migrate(engine)
        common: dict[str, Any] = {"tenant": "salon", "portal": "p1", "services": (), "status": "visited", "now": NOW}
        ids = []
        for deal_id, start in ((1, NOW - timedelta(days=4 * 365)), (2, NOW - timedelta(days=30))):
            visit = await save_visit(
                engine,
                **common,
                deal_id=deal_id,
                conversation=f"c{deal_id}",
                start_at=start,
                end_at=start + timedelta(hours=1),
            )
            await plan_reminders(engine, visit.id, [("24h", start - timedelta(hours=24))])
            ids.append(visit.id)
        assert await prune(engine, NOW - timedelta(days=3 * 365)) == 1
        assert await visit_by_id(engine, ids[0]) is None and await planned_reminders(engine, ids[0]) == []
        assert await visit_by_id(engine, ids[1]) is not None and len(await planned_reminders(engine, ids[1])) == 1
    finally:
        await engine.dispose()


async def test_consent_records_decide_by_the_latest_word_and_old_superseded_ones_are_pruned(database_url):
    from domain import ConsentAnswer as A
    from gateway.store.sql.consents import ConsentRecord, export, prune, record, standing_of, was_asked

    engine = make_engine(async_url(database_url, Path(".")))
    try:
        await migrate(engine)
        years_ago = NOW - timedelta(days=4 * 365)
        history = [
            (A.ASKED, years_ago, "+79130000001", "salon:telegram:1"),
            (A.YES, years_ago + timedelta(minutes=1), "+79130000001", "salon:telegram:1"),
            (A.STOP, years_ago + timedelta(days=1), "+79130000001", "salon:whatsapp:79130000001"),
            (A.YES, years_ago + timedelta(days=2), "+79130000001", "salon:telegram:1"),
            (A.STOP, NOW, "salon:telegram:2", "salon:telegram:2"),  # before a phone was known
        ]
        for answer, at, person, conversation in history:
            await record(engine, ConsentRecord("salon", person, conversation, "telegram", answer, "t", "1", "x", at))
        assert await standing_of(engine, "salon", ["+79130000001"]) == A.YES
        # by a conversation alone (no phone known): only what was said there
        assert await standing_of(engine, "salon", ["salon:whatsapp:79130000001"]) == A.STOP
        assert await standing_of(engine, "salon", [None, "salon:telegram:2"]) == A.STOP  # type: ignore[list-item]
        assert await standing_of(engine, "spa", ["+79130000001"]) is None
        assert await was_asked(engine, "salon", ["+79130000001"]) and not await was_asked(engine, "salon", ["x"])
        assert await prune(engine, NOW - timedelta(days=3 * 365)) == 1  # the first yes; the latest of each stays
        assert [r.answer for r in await export(engine, "salon")] == [A.ASKED, A.STOP, A.YES, A.STOP]
        assert await standing_of(engine, "salon", ["+79130000001"]) == A.YES
    finally:
        await engine.dispose()


async def test_facts_fold_once_and_the_latest_manager_wins_and_a_day_of_spend_is_replaced(database_url):
    from datetime import date

    from gateway.store.facts import Fact, Kind
    from gateway.store.sql.analytics import SpendRow, facts_between, fold, replace_spend, spend_between

    engine = make_engine(async_url(database_url, Path(".")))
    try:
        await migrate(engine)
        lead = Fact("lead:c1", Kind.LEAD, "salon", NOW, "c1", channel="telegram", utm_source="vk")
        first = Fact("assigned:c1", Kind.ASSIGNED, "salon", NOW, "c1", manager=7)
        await fold(engine, [lead, first])
        await fold(engine, [lead, first, Fact("assigned:c1", Kind.ASSIGNED, "salon", NOW, "c1", manager=9)])
        await fold(engine, [Fact(f"lead:x{i}", Kind.LEAD, "spa", NOW, f"x{i}") for i in range(1200)])  # chunked
        stored = await facts_between(engine, "salon", NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert sorted((f.kind, f.manager) for f in stored) == [("assigned", 9), ("lead", None)]
        assert stored[[f.kind for f in stored].index("lead")].utm_source == "vk"
        assert len(await facts_between(engine, "spa", NOW - timedelta(days=1), NOW + timedelta(days=1))) == 1200

        day, other = date(2026, 11, 5), date(2026, 11, 6)
        await replace_spend(engine, "salon", [SpendRow(day, "vk", "a", 100), SpendRow(other, "ig", None, 50)])
        await replace_spend(engine, "salon", [SpendRow(day, "vk", "a", 70), SpendRow(day, "vk", "a", 5)])
        kept = sorted(
            (r.day, r.utm_source, r.utm_campaign, r.amount) for r in await spend_between(engine, "salon", day, other)
        )
        assert kept == [(day, "vk", "a", 75), (other, "ig", None, 50)]  # day 5 replaced, day 6 untouched
    finally:
        await engine.dispose()


async def test_a_waitlist_place_and_its_freed_slots_go_once_the_wait_is_over(database_url):
    from gateway.store.sql import waitlist

    engine = make_engine(async_url(database_url, Path(".")))
    try:
        await migrate(engine)
        for n, wished in enumerate((NOW - timedelta(days=40), NOW + timedelta(days=2))):
            row = {
                "conversation": f"salon:telegram:{n}",
                "channel": "telegram",
                "chat_id": str(n),
                "reply_phone": None,
                "phone": f"+7913000000{n}",
                "services": "manicure",
                "duration_min": 60,
                "wished_from": wished - timedelta(hours=2),
                "wished_to": wished + timedelta(hours=2),
            }
            await waitlist.join(engine, "salon", "p1", row, NOW)
            await waitlist.free(engine, "salon", "p1", wished, wished + timedelta(hours=1), NOW)
        assert await waitlist.prune(engine, NOW - timedelta(days=30)) == 1
        kept = await waitlist.open_slots(engine, "salon", "p1")
        assert [slot.start_at for slot in kept] == [NOW + timedelta(days=2)]
        assert await waitlist.entry(engine, 1) is None and await waitlist.entry(engine, 2) is not None
    finally:
        await engine.dispose()
