"""Analytics: the facts folded from Redis, and ad spend per day.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False, server_default=""),
        sa.Column("utm_source", sa.String(255)),
        sa.Column("utm_campaign", sa.String(255)),
        sa.Column("service", sa.String(64)),
        sa.Column("person", sa.String(255)),
        sa.Column("manager", sa.BigInteger),
        sa.Column("amount", sa.Float),
        sa.Column("seconds", sa.Float),
        sa.PrimaryKeyConstraint("id", name="pk_facts"),
        sa.UniqueConstraint("tenant", "key", name="uq_facts_key"),
    )
    op.create_index("ix_facts_tenant_at", "facts", ["tenant", "at"])
    op.create_index("ix_facts_tenant_kind", "facts", ["tenant", "kind", "at"])
    op.create_table(
        "spend",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("utm_source", sa.String(255), nullable=False, server_default=""),
        sa.Column("utm_campaign", sa.String(255), nullable=False, server_default=""),
        sa.Column("amount", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spend"),
        sa.UniqueConstraint("tenant", "day", "utm_source", "utm_campaign", name="uq_spend_day"),
    )


def downgrade() -> None:
    op.drop_table("spend")
    op.drop_index("ix_facts_tenant_kind", table_name="facts")
    op.drop_index("ix_facts_tenant_at", table_name="facts")
    op.drop_table("facts")
