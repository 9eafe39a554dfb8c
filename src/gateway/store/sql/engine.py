"""The store's engine from `database_url`: PostgreSQL through asyncpg, SQLite through aiosqlite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_FILE = "lead-gateway.db"


def async_url(database_url: str | None, data_dir: Path) -> str:
    """The URL with its async driver; unset: an SQLite file in `data_dir`."""
    if not database_url:
        return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE).resolve()}"
    scheme, sep, rest = database_url.partition("://")
    driver = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(scheme, scheme)
    return f"{driver}{sep}{rest}"


def make_engine(url: str) -> AsyncEngine:
    """An engine that connects on first use: building it touches no database."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the one writer
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
