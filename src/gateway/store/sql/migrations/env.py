"""Alembic's environment: migrations run on the connection `gateway.store.sql.migrate` hands over."""

from __future__ import annotations

from alembic import context

from gateway.store.sql.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
