"""Visits booked before their deal exists, with the client's address and their Online Booking resource and
booking; reminders planned ahead as an agenda.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite alters a column by copying the table; PostgreSQL alters in place
    with op.batch_alter_table("visits") as batch:
        batch.alter_column("deal_id", existing_type=sa.BigInteger, nullable=True)
        batch.add_column(sa.Column("channel", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("chat_id", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("reply_phone", sa.String(32)))
        batch.add_column(sa.Column("resource_id", sa.BigInteger))
        batch.add_column(sa.Column("booking_id", sa.BigInteger))
        batch.add_column(sa.Column("booking_start", sa.DateTime(timezone=True)))
    op.create_index("ix_visits_tenant", "visits", ["tenant", "start_at"])
    op.create_index("ix_visits_conversation", "visits", ["conversation"])
    op.create_index("ix_visits_booking_id", "visits", ["booking_id"])
    with op.batch_alter_table("reminders") as batch:
        batch.alter_column("claimed_at", existing_type=sa.DateTime(timezone=True), nullable=True)
    op.create_index("ix_reminders_due_at", "reminders", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_reminders_due_at", table_name="reminders")
    op.execute("DELETE FROM reminders WHERE claimed_at IS NULL")
    with op.batch_alter_table("reminders") as batch:
        batch.alter_column("claimed_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.drop_index("ix_visits_booking_id", table_name="visits")
    op.drop_index("ix_visits_conversation", table_name="visits")
    op.drop_index("ix_visits_tenant", table_name="visits")
    op.execute("DELETE FROM visits WHERE deal_id IS NULL")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("booking_start")
        batch.drop_column("booking_id")
        batch.drop_column("resource_id")
        batch.drop_column("reply_phone")
        batch.drop_column("chat_id")
        batch.drop_column("channel")
        batch.alter_column("deal_id", existing_type=sa.BigInteger, nullable=False)
