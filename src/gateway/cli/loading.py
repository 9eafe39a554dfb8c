"""What every command starts from: the config file, the data directory, the business store's address,
and its schema brought up to date."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from gateway.settings import AppConfig, ConfigError, load_config, resolve_config_path

logger = logging.getLogger("gateway.cli.loading")


DATA_DIR_ENV = "LEAD_GATEWAY_DATA_DIR"


SANDBOX_URL_ENV = "LEAD_GATEWAY_SANDBOX_URL"


def load(args: argparse.Namespace) -> AppConfig:
    path = resolve_config_path(args.config)
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"lead-gateway: invalid config {path}:", file=sys.stderr)  # noqa: T201
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None


def data_dir(args: argparse.Namespace) -> Path:
    """Where the embedded Redis keeps its data: `$LEAD_GATEWAY_DATA_DIR`, else `.lead-gateway/` beside the
    config file, so every command run with that config finds the same data wherever it is run from."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit)
    return resolve_config_path(args.config).resolve().parent / ".lead-gateway"


def store_url(config: AppConfig, args: argparse.Namespace) -> str:
    """The business store's URL with its async driver (no SQLAlchemy needed to build it)."""
    from gateway.store.sql.urls import async_url

    return async_url(config.database_url, data_dir(args))


def migrate_store_here(config: AppConfig, args: argparse.Namespace) -> None:
    """Bring the business store's schema up to date; safe when several processes start at once."""
    from gateway.store.sql.migrate import migrate_url

    url = store_url(config, args)
    if url.startswith("sqlite"):
        data_dir(args).mkdir(parents=True, exist_ok=True)
    asyncio.run(migrate_url(url))
    logger.info(
        "business store ready (%s)", "PostgreSQL" if "postgresql" in url else "SQLite " + url.rsplit("/", 1)[-1]
    )


def migrate_store(args: argparse.Namespace) -> None:
    """`migrate` in a child process before serving: Alembic and the drivers (~45 MB) are not kept
    resident in a process that does not use them yet. Exits like the child when it fails."""
    import subprocess

    command = [sys.executable, "-m", "gateway.cli.main", "--log-level", args.log_level, "migrate"]
    command += ["--config", str(resolve_config_path(args.config))]
    done = subprocess.run(command, check=False)  # noqa: S603 - our own interpreter and module
    if done.returncode != 0:
        print("lead-gateway: the business store could not be migrated", file=sys.stderr)  # noqa: T201
        raise SystemExit(done.returncode)
