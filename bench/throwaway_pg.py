"""A PostgreSQL database of its own for one benchmark: made, handed over as an async URL, then dropped."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from gateway.store.sql.urls import async_url


@contextlib.asynccontextmanager
async def throwaway_database(admin_url: str) -> AsyncIterator[str | None]:
    """The new database's async URL, or None (said on stdout) when no PostgreSQL answers."""
    try:
        import asyncpg

        admin = await asyncpg.connect(admin_url, timeout=3)
    except (OSError, TimeoutError) as exc:
        print(f"  PostgreSQL: skipped ({exc})")
        yield None
        return
    name = f"lg_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield async_url(admin_url.rsplit("/", 1)[0] + f"/{name}", Path("."))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
