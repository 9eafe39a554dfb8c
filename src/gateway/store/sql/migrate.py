"""Bring the schema to the newest migration, safely when several processes start at once."""

from __future__ import annotations

import asyncio
import fcntl
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.sql.engine import make_engine

logger = logging.getLogger("gateway.store.sql.migrate")

MIGRATIONS = Path(__file__).parent / "migrations"
ADVISORY_LOCK = 0x6C67_6D69  # "lgmi": one migrator at a time on a PostgreSQL database


def _upgrade(connection: Any) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to head. PostgreSQL: under an advisory lock; SQLite: under a lock file beside the database."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK})
            try:
                await connection.commit()
                await connection.run_sync(_upgrade)
                await connection.commit()
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK})
                await connection.commit()
        return
    database = engine.url.database or ":memory:"
    if database == ":memory:":
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
        return
    lock_path = Path(database + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:  # noqa: ASYNC230 - a tiny lock file, once at start
        # another process (or task) migrating: wait for it in a thread, never blocking this event loop
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def migrate_url(url: str) -> None:
    """Migrate the database at `url` (an async driver URL) and let go of its connections."""
    engine = make_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
