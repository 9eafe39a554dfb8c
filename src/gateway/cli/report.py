"""`lead-gateway report` (the numbers as a table, CSV or JSON) and `lead-gateway spend import`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli.safe_csv import SafeWriter
from gateway.settings import TenantConfig
from gateway.usecases.analytics.reports import Period, analytics
from gateway.usecases.analytics.spend import parse_csv, save

COLUMNS = (
    ("key", "ключ"),
    ("leads", "заявки"),
    ("first_reply_p50_s", "ответ p50, с"),
    ("first_reply_p90_s", "ответ p90, с"),
    ("bookings", "записи"),
    ("visits", "визиты"),
    ("no_shows", "неявки"),
    ("cancellations", "отмены"),
    ("no_show_rate", "доля неявок"),
    ("recovered", "возвращено"),
    ("revenue", "выручка"),
    ("aov", "ср. чек"),
    ("new_clients", "новые"),
    ("spend", "расход"),
    ("cac", "CAC"),
    ("cpo", "CPO"),
    ("ltv", "LTV"),
    ("contribution", "маржа"),
    ("stop", "стоп"),
    ("deposits_paid", "предоплат"),
    ("no_show_rate_deposit", "неявки с предопл."),
    ("no_show_rate_no_deposit", "неявки без"),
    ("waitlist_filled", "из листа ожид."),
    ("waitlist_revenue", "их выручка"),
    ("ratings", "оценок"),
    ("rating_avg", "ср. оценка"),
)
MANAGER_COLUMNS = (
    ("leads_handled", "обработано"),
    ("conversion", "конверсия"),
    ("attendance", "явка"),
    ("bonus", "бонус"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "да" if value else ""
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").rstrip("0").rstrip(".")
    return str(value)


async def report(
    engine: AsyncEngine, tenant_id: str, tenant: TenantConfig, period: Period, by: str, fmt: str, out: TextIO
) -> None:
    body = await analytics(engine, tenant_id, tenant, period, by)
    columns = COLUMNS + (MANAGER_COLUMNS if by == "manager" else ())
    if fmt == "json":
        out.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return
    rows = [*body["rows"], {**body["total"], "key": "итого"}]
    if fmt == "csv":
        writer = SafeWriter(out)
        writer.writerow([name for name, _ in columns])
        for row in rows:
            writer.writerow(["" if row.get(name) is None else row.get(name) for name, _ in columns])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{tenant_id}: {body['from']} — {body['to']}, по {by}", show_lines=False)
    for name, title in columns:
        table.add_column(title, justify="left" if name == "key" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*(_cell(row.get(name)) for name, _ in columns), style="bold" if row["key"] == "итого" else None)
    Console(file=out, width=max(200, 12 * len(columns))).print(table)


async def import_spend(engine: AsyncEngine, tenant_id: str, path: Path) -> tuple[int, int]:
    """(days replaced, rows) from a CSV `date,utm_source,utm_campaign,amount`."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = parse_csv(handle)
    return await save(engine, tenant_id, rows), len(rows)
