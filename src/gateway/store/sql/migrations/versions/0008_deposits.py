"""Deposits: a payment asked for a risky booking, and where it stands.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deposits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("visit_id", sa.Integer, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kopecks", sa.Integer, nullable=False),
        sa.Column("payment_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_deposits"),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name="fk_deposits_visit_id", ondelete="CASCADE"),
        sa.UniqueConstraint("visit_id", name="uq_deposits_visit"),
    )
    op.create_index("ix_deposits_payment_id", "deposits", ["payment_id"])


def downgrade() -> None:
    op.drop_index("ix_deposits_payment_id", table_name="deposits")
    op.drop_table("deposits")
