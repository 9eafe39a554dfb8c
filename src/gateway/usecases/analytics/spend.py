"""Ad spend rows from the API (JSON) or a CSV file: `date, utm_source, utm_campaign, amount`."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.analytics import SpendRow, replace_spend
from gateway.usecases.analytics.reports import FIRST_DAY, LAST_DAY

MAX_ROWS = 100_000
MAX_AMOUNT = 1e12  # roubles a day for one ad: far above any salon's, far below a float's limits


class BadSpend(ValueError):
    """A row that cannot be taken, said by its number."""


def _row(number: int, item: Any) -> SpendRow:
    if not isinstance(item, dict):
        raise BadSpend(f"row {number}: expected an object with date, utm_source, utm_campaign, amount")
    try:
        day = date.fromisoformat(str(item.get("date", "")).strip())
    except ValueError:
        raise BadSpend(f"row {number}: date is YYYY-MM-DD") from None
    try:
        amount = float(str(item.get("amount", "")).replace(",", ".").replace(" ", ""))
    except ValueError:
        raise BadSpend(f"row {number}: amount is a number of roubles") from None
    if not 0 <= amount <= MAX_AMOUNT:  # also refuses NaN and infinity, which no report could add up
        raise BadSpend(f"row {number}: amount must be from 0 to {MAX_AMOUNT:.0f}")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadSpend(f"row {number}: date is between {FIRST_DAY} and {LAST_DAY}")
    source = str(item.get("utm_source") or "").strip()[:255] or None
    campaign = str(item.get("utm_campaign") or "").strip()[:255] or None
    return SpendRow(day, source, campaign, round(amount, 2))


def parse_rows(body: Any) -> list[SpendRow]:
    """`[{date, utm_source, utm_campaign, amount}, ...]` or `{"rows": [...]}`."""
    items = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise BadSpend("expected a list of rows {date, utm_source, utm_campaign, amount}")
    if len(items) > MAX_ROWS:
        raise BadSpend(f"at most {MAX_ROWS} rows at a time")
    return [_row(number, item) for number, item in enumerate(items, 1)]


def parse_csv(lines: Iterable[str]) -> list[SpendRow]:
    """A CSV with the header `date,utm_source,utm_campaign,amount` (`;` works too, as Excel writes it)."""
    text = list(lines)
    delimiter = ";" if text and text[0].count(";") > text[0].count(",") else ","
    reader = csv.DictReader(text, delimiter=delimiter)
    missing = ", ".join(sorted({"date", "amount"} - set(reader.fieldnames or [])))
    if missing:
        raise BadSpend(f"the header needs date, utm_source, utm_campaign, amount (missing {missing})")
    return parse_rows(list(reader))


async def save(engine: AsyncEngine, tenant: str, rows: list[SpendRow]) -> int:
    return await replace_spend(engine, tenant, rows)
