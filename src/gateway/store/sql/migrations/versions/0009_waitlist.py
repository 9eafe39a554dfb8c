"""Waitlist: clients waiting for a time near the one they asked, and the slots freed for them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waitlist",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("portal", sa.String(32), nullable=False),
        sa.Column("conversation", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(255), nullable=False),
        sa.Column("reply_phone", sa.String(32)),
        sa.Column("phone", sa.String(32)),
        sa.Column("services", sa.Text, nullable=False),
        sa.Column("duration_min", sa.Integer, nullable=False),
        sa.Column("wished_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wished_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("offered_start", sa.DateTime(timezone=True)),
        sa.Column("offered_until", sa.DateTime(timezone=True)),
        sa.Column("visit_id", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_waitlist"),
    )
    op.create_index("ix_waitlist_tenant", "waitlist", ["tenant", "status", "wished_from"])
    op.create_table(
        "freed_slots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("portal", sa.String(32), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("freed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offered", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_freed_slots"),
    )
    op.create_index("ix_freed_slots_open", "freed_slots", ["tenant", "status"])


def downgrade() -> None:
    op.drop_index("ix_freed_slots_open", table_name="freed_slots")
    op.drop_table("freed_slots")
    op.drop_index("ix_waitlist_tenant", table_name="waitlist")
    op.drop_table("waitlist")
