"""The store's engine from `database_url`: PostgreSQL through asyncpg, SQLite through aiosqlite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.store.sql.urls import SQLITE_FILE, async_url

__all__ = ["SQLITE_FILE", "async_url", "dialect_insert", "make_engine"]


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


def dialect_insert(engine: AsyncEngine) -> Any:
    """The INSERT of the engine's dialect: both have `on_conflict_do_nothing` / `_do_update`."""
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
