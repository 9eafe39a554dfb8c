"""`lead-gateway consent export` and `lead-gateway forget`: the evidence of consent, and erasing a person."""

from __future__ import annotations

import sys
from typing import TextIO

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli.safe_csv import SafeWriter
from gateway.store.sql import consents
from gateway.usecases.people.forget import Erased, forget_person

CSV_COLUMNS = ("at", "tenant", "person", "conversation", "channel", "answer", "text_version", "source", "text")


async def export_consents(engine: AsyncEngine, tenant: str, out: TextIO) -> int:
    """Every question shown and every yes, no and stop of the tenant's clients, oldest first; the rows."""
    writer = SafeWriter(out)
    writer.writerow(CSV_COLUMNS)
    rows = await consents.export(engine, tenant)
    for row in rows:
        writer.writerow(
            (
                row.at.isoformat(),
                row.tenant,
                row.person,
                row.conversation,
                row.channel,
                row.answer.value,
                row.text_version,
                row.source,
                row.text,
            )
        )
    return len(rows)


async def forget(redis: Redis, engine: AsyncEngine | None, tenant: str, phone: str) -> Erased:
    erased = await forget_person(redis, engine, tenant, phone)
    report(erased, sys.stdout)
    return erased


def report(erased: Erased, out: TextIO) -> None:
    lines = [
        f"erased what lead-gateway held on {erased.phone}:",
        f"  conversations: {len(erased.conversations)} ({', '.join(erased.conversations) or 'none'})",
        f"  redis keys: {erased.redis_keys} (dialogue state, CRM links, timeline cache, inbox, budgets)",
        f"  visits: {erased.visits} (with their reminders, offers, ratings and deposits)",
        f"  episodes: {erased.episodes}",
        f"  consent records: {erased.consents}",
        f"  analytics facts: {erased.facts} (the numbers of periods they were in drop them)",
        f"  experiment assignments and exposures: {erased.experiments}",
        f"  waitlist places: {erased.waitlist}",
        f"  job results and dead letters: {erased.job_traces}",
        f"  redis append-only file: {erased.append_only_file}",
    ]
    if erased.crm_contacts or erased.crm_deals:
        contacts = ", ".join(str(c) for c in sorted(erased.crm_contacts)) or "none"
        deals = ", ".join(str(d) for d in sorted(erased.crm_deals)) or "none"
        lines.append(
            f"  left in Bitrix24 (the business's own records, to clean there): contacts {contacts}; deals {deals}"
        )
    out.write("\n".join(lines) + "\n")
