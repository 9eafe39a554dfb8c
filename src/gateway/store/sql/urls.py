"""The business store's URL, with its async driver; no SQLAlchemy needed to work it out."""

from __future__ import annotations

from pathlib import Path

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
